#pragma once
// The commonsense reasoning suite of LLM-Adapters (what Light-PEFT and other PEFT papers report for
// decoder LLMs), in LLM-Adapters' files: one folder per data set with test.json (and train.json for
// some), each a JSON list of {instruction, input, output, answer} rows. The instruction writes the
// question, its numbered choices and the answer format; `output` is the target response ("the
// correct answer is answer2") and `answer` the label alone:
//
//   boolq          "Please answer the following question with true or false, question: <q>\n\n"
//                  "Answer format: true/false"
//   piqa           "Please choose the correct solution to the question: <goal>\n\nSolution1: <s1>\n\n"
//                  "Solution2: <s2>\n\nAnswer format: solution1/solution2"
//   social_i_qa, arc_easy, arc_challenge, openbookqa
//                  "Please choose the correct answer to the question: <q>\n\nAnswer1: <a1> Answer2: <a2>"
//                  " ... AnswerN: <aN>\n\nAnswer format: answer1/.../answerN" (ARC: N = 3, 4 or 5)
//   winogrande     "Please choose the correct answer to fill in the blank to complete the given sentence: "
//                  "<sentence with one _>\n\nOption1: <o1> Option2: <o2> Answer format: option1/option2"
//
// parse_commonsense_question recovers the question and the choices (for log-likelihood scoring and
// the encoders' heads): the answer format gives the number of choices N, then the choice markers are
// found from the end of the text backwards (a question may contain anything; a choice text never
// holds the next choice's marker). Choice texts are kept verbatim (PIQA's trailing spaces included).
// BoolQ rows hold the question only (no passage); its choices are lm-eval's {"no", "yes"}, in the
// order of the answers {"false", "true"}.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/data/example.h"
#include "lightpeft/data/load_options.h"

namespace lightpeft {

enum class CommonsenseSet { boolq, piqa, social_i_qa, winogrande, arc_easy, arc_challenge, openbookqa };

struct CommonsenseSetInfo {
  CommonsenseSet set;
  std::string name;         // the task name: "arc_easy"
  std::string folder;       // LLM-Adapters' folder: "ARC-Easy"
  std::string answer_word;  // "answer", "solution", "option"; empty for boolq (true/false)
  bool has_train = false;   // LLM-Adapters' snapshot has <folder>/train.json
};

// The seven sets, in LLM-Adapters' table order (boolq, piqa, social_i_qa, winogrande, arc_easy,
// arc_challenge, openbookqa).
const std::vector<CommonsenseSetInfo>& commonsense_sets();
const CommonsenseSetInfo& commonsense_set_info(CommonsenseSet set);
// A set by name: case-insensitive, '-', '_', '.' and ' ' ignored, an optional "commonsense" or "cs"
// prefix, and the usual short names (arc_e, arc_c, obqa, siqa) or folder names (ARC-Easy). nullopt
// for any other name.
std::optional<CommonsenseSet> find_commonsense_set(const std::string& name);
// "boolq piqa social_i_qa winogrande arc_easy arc_challenge openbookqa"
std::string commonsense_set_names();

struct CommonsenseQuestion {
  std::string question;              // winogrande: the sentence with its blank "_"
  std::vector<std::string> choices;  // in the data's order
};

// Throws lightpeft::Error (without the row's location; the loader adds it) when `instruction` does
// not have the set's layout.
CommonsenseQuestion parse_commonsense_question(CommonsenseSet set, const std::string& instruction);

// The answers as the rows write them, in choice order: "false", "true" (boolq) or "<word>1" ...
// "<word>N".
std::vector<std::string> commonsense_answer_labels(CommonsenseSet set, size_t choices);
// The choice index of `answer` among those labels; throws naming the labels for any other answer.
int64_t commonsense_answer_index(CommonsenseSet set, const std::string& answer, size_t choices);

// The folder of a set's files: `data_dir` itself when it holds the set's files (test.json), else
// <data_dir>/<folder> (the folder name matched case-insensitively, '-' and '_' ignored). Throws
// naming both places when neither has test.json.
std::filesystem::path commonsense_set_dir(CommonsenseSet set, const std::filesystem::path& data_dir);

// Loads a file of the set: per row the question and choices (Example::text, ::choices), the label
// (the index of `answer`; Example::label, ::answer), the set's name (Example::subset) and the row as
// an Alpaca turn (Example::turns: prompt = the Alpaca template with the instruction and input,
// response = output, as LLM-Adapters' finetune.py trains). A row that does not parse, or whose
// answer is not one of the set's labels, is an error "<file>: row 3: <what>" or, with
// options.skip_bad_rows, skipped and counted in one warning.
std::vector<Example> load_commonsense_file(CommonsenseSet set, const std::filesystem::path& file,
                                           const LoadOptions& options = {});

}  // namespace lightpeft
