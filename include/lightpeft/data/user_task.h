#pragma once
// User tasks: a CSV, TSV or JSONL file with a header (or JSON keys) and a mapping of its columns to
// text, text pair and label. CSV and TSV files are read with quoting (csv.h), as pandas writes them;
// JSONL values may be strings, numbers or booleans (a label true/false is the token "True"/"False").
#include <filesystem>
#include <string>
#include <vector>

#include "lightpeft/data/example.h"
#include "lightpeft/data/load_options.h"

namespace lightpeft {

enum class UserFileFormat { auto_detect, csv, tsv, jsonl };

struct UserTaskSpec {
  std::string name = "user";
  UserFileFormat format = UserFileFormat::auto_detect;  // by extension: .csv, .tsv/.txt, .jsonl/.json
  std::string text_column = "text";
  std::string text_pair_column;  // empty: single-sentence task
  std::string label_column = "label";
  // Classification: label tokens in class-id order (required unless regression).
  std::vector<std::string> label_names;
  bool regression = false;
  // Empty: "accuracy" for classification, "pearson_spearman" for regression.
  std::string metric;
};

// The TaskSpec the trainer uses for a user task (validates the spec).
TaskSpec user_task_spec(const UserTaskSpec& spec);

// Loads a user file. A file without the label column gives unlabelled examples (for predict); a
// missing text column is an error naming the columns the file has.
std::vector<Example> load_user_file(const std::filesystem::path& file, const UserTaskSpec& spec,
                                    const LoadOptions& options = {});

// The distinct label tokens of a file, sorted: a helper to write label_names into a config.
std::vector<std::string> infer_label_names(const std::filesystem::path& file,
                                           const UserTaskSpec& spec);

}  // namespace lightpeft
