#pragma once
// The tasks lightpeft knows, by name: every GLUE and SuperGLUE task over its official files in a
// data folder, SQuAD v1.1 / v2.0 over its JSON files, and user tasks over CSV/TSV/JSONL files. A new task type is its strategy class
// (task.h) and one entry in registry.cpp.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "lightpeft/data/user_task.h"
#include "lightpeft/tasks/extractive_qa.h"
#include "lightpeft/tasks/task.h"

namespace lightpeft {

struct UserTaskFiles {
  UserTaskSpec spec;
  std::filesystem::path train_file, dev_file, test_file;  // test_file may be empty
};

// SQuAD's files (data/squad.h) and how its questions are windowed and answered.
struct SquadTaskFiles {
  std::filesystem::path train_file, dev_file, test_file;  // test_file may be empty
  ExtractiveQaOptions options;  // options.answers.version_2_with_negative: SQuAD v2.0
};

// `name` is a GLUE/SuperGLUE task (any spelling canonical_task_name accepts) read from `data_dir`,
// "user" with `user`, or "squad" / "squad_v2" (any spelling squad_task_name accepts) with `squad`
// ("squad_v2" turns version_2_with_negative on). Throws lightpeft::Error for an unknown name
// (listing the known ones).
std::unique_ptr<Task> make_task(const std::string& name, const std::filesystem::path& data_dir,
                                const std::optional<UserTaskFiles>& user = std::nullopt,
                                const std::optional<SquadTaskFiles>& squad = std::nullopt);

}  // namespace lightpeft
