#include "test_support.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

namespace lightpeft::testing {

static std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return (v && *v) ? std::string(v) : fallback;
}

#ifndef LIGHTPEFT_TEST_SHARED_DIR
#define LIGHTPEFT_TEST_SHARED_DIR ""
#define LIGHTPEFT_TEST_PYTHON ""
#define LIGHTPEFT_TEST_SOURCE_DIR "."
#define LIGHTPEFT_TEST_GOLDEN_DIR "golden"
#define LIGHTPEFT_TEST_CLI "lightpeft"
#endif

std::optional<fs::path> shared_dir() {
  fs::path p = env_or("LIGHTPEFT_SHARED_DIR", LIGHTPEFT_TEST_SHARED_DIR);
  if (p.empty() || !fs::is_directory(p)) return std::nullopt;
  return p;
}

fs::path golden_dir() { return env_or("LIGHTPEFT_GOLDEN_DIR", LIGHTPEFT_TEST_GOLDEN_DIR); }
fs::path source_dir() { return env_or("LIGHTPEFT_SOURCE_DIR", LIGHTPEFT_TEST_SOURCE_DIR); }
fs::path cli_path() { return env_or("LIGHTPEFT_CLI", LIGHTPEFT_TEST_CLI); }
std::string python_path() { return env_or("LIGHTPEFT_PYTHON", LIGHTPEFT_TEST_PYTHON); }

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("cannot write " + path.string());
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

CliResult run_cli(const std::string& args) {
  const std::string cmd = cli_path().string() + " " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  if (!pipe) return {-1, "popen failed"};
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

TempDir::TempDir() {
  std::random_device rd;
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto candidate = fs::temp_directory_path() /
                     ("lightpeft-test-" + std::to_string(rd()) + std::to_string(attempt));
    if (fs::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
  throw std::runtime_error("cannot create a temporary directory");
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace lightpeft::testing
