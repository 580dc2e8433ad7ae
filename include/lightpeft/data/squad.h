#pragma once
// SQuAD v1.1 and v2.0 files (the official JSON): {"version": ..., "data": [article, ...]} where
//   article   = {"title": "..." (optional), "paragraphs": [paragraph, ...]}
//   paragraph = {"context": "...", "qas": [question, ...]}
//   question  = {"id": "...", "question": "...", "answers": [{"text": "...", "answer_start": N}, ...],
//                "is_impossible": true|false (v2, optional), "plausible_answers": [...] (v2, optional)}
// read into one Example per question, in file order (data/example.h): text = the question,
// text_pair = its paragraph's context, id, answers (answer_start turned into a byte offset), index =
// the question's position in the file, has_label = `labelled`.
//
// SQuAD counts answer_start in Python characters (code points); the reader converts it to a byte
// offset of the UTF-8 context and checks, up front, that the context holds the answer's text there.
// A question without answers is unanswerable (SQuAD v2); is_impossible, when given, must agree.
// plausible_answers (v2's unanswerable questions) are checked for their types only and not kept.
//
// Errors name the file, the question's id and its JSON path:
//   dev.json: question '56be4db0' (data[0].paragraphs[3].qas[1]): answers[0].answer_start 177 points
//   at 'Santa Clara' in the context, not at the answer's text 'Levi's Stadium' (found at character 403)
// A bad question (a missing key, a wrong type, an answer_start elsewhere, a duplicate id) and a bad
// paragraph or article are rows: with LoadOptions::skip_bad_rows they are counted, skipped and
// reported in one warning. A file that is not valid UTF-8 or JSON, or has no "data" list, has no rows
// to skip: that is an error either way (naming the line and column where it can).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lightpeft/data/example.h"
#include "lightpeft/data/load_options.h"

namespace lightpeft {

// "squad" (v1.1) or "squad_v2" when `name` names SQuAD, spelled in any case with '-', '_', '.'
// ignored ("SQuAD", "squad1.1", "squad-v2", "squad2.0"); nullopt for every other name.
std::optional<std::string> squad_task_name(const std::string& name);

// Reads a SQuAD file. `labelled` false (a test file): answers, is_impossible and plausible_answers
// are neither required nor read. options.max_examples keeps the first questions only.
std::vector<Example> load_squad_file(const std::filesystem::path& file, const LoadOptions& options = {},
                                     bool labelled = true);

// The same on text in memory; `origin` stands for the file name in errors.
std::vector<Example> parse_squad_json(std::string_view content, const std::string& origin,
                                      const LoadOptions& options = {}, bool labelled = true);

// The byte offset at which code point `index` of UTF-8 `text` starts (text.size() for index = the
// number of code points); nullopt when the text has fewer code points. `text` must be valid UTF-8.
std::optional<int64_t> code_point_to_byte(std::string_view text, int64_t index);

}  // namespace lightpeft
