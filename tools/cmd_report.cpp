// `lightpeft report OUTPUT_DIR [--python PATH]`: pictures of a finished (or running) `lightpeft
// train` run. The plotting lives in tools/report.py (matplotlib in the project venv); this command
// finds the python and the script, checks both before any work and runs the script.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

#ifndef LIGHTPEFT_DEFAULT_PYTHON
#define LIGHTPEFT_DEFAULT_PYTHON ""
#endif
#ifndef LIGHTPEFT_SOURCE_DIR
#define LIGHTPEFT_SOURCE_DIR ""
#endif

namespace lightpeft::cli {
namespace {

namespace fs = std::filesystem;

// Runs argv[0] with the arguments (no shell), stdout/stderr inherited or silenced; the exit code,
// or -1 when it could not be started or did not exit normally.
int run_process(const std::vector<std::string>& args, bool quiet) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = fork();
  if (pid < 0) throw_error("report: fork failed: ", std::strerror(errno));
  if (pid == 0) {
    if (quiet) {
      if (FILE* f = std::freopen("/dev/null", "w", stdout)) (void)f;
      if (FILE* f = std::freopen("/dev/null", "w", stderr)) (void)f;
    }
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw_error("report: waitpid failed: ", std::strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The script: LIGHTPEFT_REPORT_SCRIPT, else the installed copy (<prefix>/share/lightpeft/report.py
// beside <prefix>/bin/lightpeft), else the source tree's tools/report.py.
fs::path find_script() {
  if (const char* env = std::getenv("LIGHTPEFT_REPORT_SCRIPT"); env && *env) {
    LP_CHECK(fs::is_regular_file(env), "report: LIGHTPEFT_REPORT_SCRIPT=", env, " is not a file");
    return env;
  }
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share/lightpeft/report.py");
  if (std::string(LIGHTPEFT_SOURCE_DIR).size() > 0)
    candidates.push_back(fs::path(LIGHTPEFT_SOURCE_DIR) / "tools/report.py");
  for (const auto& c : candidates)
    if (fs::is_regular_file(c)) return c;
  std::string looked;
  for (const auto& c : candidates) looked += "\n  " + c.string();
  throw_error("report: tools/report.py not found; looked in:", looked,
              "\n(set LIGHTPEFT_REPORT_SCRIPT to its path)");
}

}  // namespace

Runner add_report(CLI::App& app) {
  struct Args {
    std::string dir, python = LIGHTPEFT_DEFAULT_PYTHON;
  };
  auto a = std::make_shared<Args>();
  app.add_option("OUTPUT_DIR", a->dir, "output_dir of a `lightpeft train` run")->required();
  app.add_option("--python", a->python,
                 "python with matplotlib and safetensors (default: the project venv's)")
      ->capture_default_str();
  app.footer("Writes OUTPUT_DIR/report/*.png and OUTPUT_DIR/report/index.md.");
  return [a]() {
    const fs::path dir = a->dir;
    LP_CHECK(fs::is_directory(dir), "report: ", dir.string(), ": no such directory");
    LP_CHECK(fs::exists(dir / "metrics.jsonl") || fs::exists(dir / "results.json"), "report: ",
             dir.string(), ": not a lightpeft run (no metrics.jsonl or results.json; pass the "
             "output_dir of `lightpeft train`)");
    LP_CHECK(!a->python.empty(), "report: no python known (the build was configured without "
                                 "LIGHTPEFT_PYTHON); pass --python PATH");
    LP_CHECK(fs::exists(a->python), "report: python '", a->python,
             "' does not exist (run tools/setup.sh, or pass --python PATH)");
    LP_CHECK(access(a->python.c_str(), X_OK) == 0, "report: python '", a->python,
             "' is not executable");
    const int probe =
        run_process({a->python, "-c", "import matplotlib, numpy, safetensors"}, /*quiet=*/true);
    LP_CHECK(probe == 0, "report: python '", a->python,
             "' cannot import matplotlib, numpy and safetensors (run tools/setup.sh, which "
             "installs tools/requirements.txt, or: ",
             a->python, " -m pip install -r tools/requirements.txt)");
    const fs::path script = find_script();
    log::debug("report: ", a->python, " ", script.string(), " ", dir.string());
    const int rc = run_process({a->python, script.string(), dir.string()}, /*quiet=*/false);
    LP_CHECK(rc == 0, "report: ", script.string(), " failed (exit code ", rc, ")");
    return 0;
  };
}

}  // namespace lightpeft::cli
