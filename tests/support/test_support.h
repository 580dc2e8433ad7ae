#pragma once
// Helpers shared by all test binaries: where the shared data, the venv and golden files are, and
// scratch folders that clean up after themselves.
#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace lightpeft::testing {

namespace fs = std::filesystem;

// ../shared beside the project, or nullopt when it is absent (tests then GTEST_SKIP with a message).
std::optional<fs::path> shared_dir();
// Folder with the files tests/golden/make_test_golden.py wrote (HF reference outputs).
fs::path golden_dir();
// The project's source tree.
fs::path source_dir();
// The `lightpeft` executable under test.
fs::path cli_path();
// The project venv's python (HF reference scripts); empty when unknown.
std::string python_path();
// Reads a whole file into a string (throws on failure).
std::string read_file(const fs::path& path);
void write_file(const fs::path& path, const std::string& bytes);

// Runs the `lightpeft` CLI with `args` (shell words) and returns its exit code and its stdout and
// stderr together, as a user would see them.
struct CliResult {
  int code;
  std::string output;
};
CliResult run_cli(const std::string& args);
inline bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// A fresh empty directory removed on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

}  // namespace lightpeft::testing

// Skips the current test with a clear message when ../shared is absent.
#define LP_REQUIRE_SHARED(var)                                                        \
  auto var##_opt = ::lightpeft::testing::shared_dir();                                \
  if (!var##_opt) GTEST_SKIP() << "../shared is absent (set LIGHTPEFT_SHARED_DIR)";   \
  const auto& var = *var##_opt
