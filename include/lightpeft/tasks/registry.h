#pragma once
// The tasks lightpeft knows, by name: every GLUE and SuperGLUE task over its official files in a
// data folder, and user tasks over CSV/TSV/JSONL files. A new task type is its strategy class
// (task.h) and one entry in registry.cpp.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "lightpeft/data/user_task.h"
#include "lightpeft/tasks/task.h"

namespace lightpeft {

struct UserTaskFiles {
  UserTaskSpec spec;
  std::filesystem::path train_file, dev_file, test_file;  // test_file may be empty
};

// `name` is a GLUE/SuperGLUE task (any spelling canonical_task_name accepts) read from `data_dir`,
// or "user" with `user`. Throws lightpeft::Error for an unknown name (listing the known ones).
std::unique_ptr<Task> make_task(const std::string& name, const std::filesystem::path& data_dir,
                                const std::optional<UserTaskFiles>& user = std::nullopt);

}  // namespace lightpeft
