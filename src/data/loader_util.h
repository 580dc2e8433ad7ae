#pragma once
// Private helpers shared by the GLUE, SuperGLUE and user-file loaders (not installed).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lightpeft/data/example.h"
#include "lightpeft/data/load_options.h"
#include "lightpeft/data/text_file.h"

namespace lightpeft::data_detail {

// "a, b, c"
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");

// Class id of `token` in spec.label_names, or nullopt.
std::optional<int64_t> label_id(const TaskSpec& spec, const std::string& token);

// Sets example.label from a label token: a class id for classification, a number for regression.
// Returns an error message ("unknown label 'maybe' (expected entailment, not_entailment)") or "".
std::string set_label(const TaskSpec& spec, const std::string& token, Example& example);

// Parses a whole decimal integer ("17", "-3"); nullopt otherwise.
std::optional<int64_t> parse_int(const std::string& text);

// True when options.max_examples is reached.
inline bool reached_limit(const std::vector<Example>& out, const LoadOptions& options) {
  return options.max_examples > 0 && static_cast<int64_t>(out.size()) >= options.max_examples;
}

// One JSONL line as a JSON object; a line that is not valid UTF-8, not JSON or not an object is
// reported to `bad` (which throws or counts it) and gives nullopt.
std::optional<nlohmann::json> parse_jsonl_object(const TextLine& line, BadRows& bad);

// Format readers (glue.cpp, superglue.cpp); `labelled` is false for test splits.
std::vector<Example> read_glue_tsv(const TaskSpec& spec, const std::filesystem::path& file,
                                   bool labelled, const LoadOptions& options);
std::vector<Example> read_superglue_jsonl(const TaskSpec& spec, const std::filesystem::path& file,
                                          bool labelled, const LoadOptions& options);

}  // namespace lightpeft::data_detail
