#pragma once
// `lightpeft train --nproc N`: N workers on this machine, like torchrun --nproc-per-node N. Each
// worker is this same program (/proc/self/exe) with the same arguments less --nproc, and the launch
// contract in its environment (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1,
// MASTER_PORT = a free port). When a worker fails (non-zero exit or a signal) the others are
// stopped (SIGTERM, then SIGKILL after a grace period) and the launcher returns the failure's code,
// so one dead worker never leaves the job hanging.
#include <chrono>
#include <string>
#include <vector>

namespace lightpeft::dist {

// The arguments this process was started with (argv[0] first), from /proc/self/cmdline.
std::vector<std::string> own_command_line();
// `args` without "--nproc N" / "--nproc=N".
std::vector<std::string> without_nproc(const std::vector<std::string>& args);
// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
int free_tcp_port();

struct WorkerFailure {
  int rank = -1;
  int exit_code = 0;  // the worker's exit status, or 128 + signal
};

// Runs the workers and waits for them. Returns 0 when all succeeded, else the first failing
// worker's code (a line on stderr names it and what happened).
int run_local_workers(int nproc, const std::vector<std::string>& args,
                      std::chrono::seconds grace = std::chrono::seconds(10));

}  // namespace lightpeft::dist
