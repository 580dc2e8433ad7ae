#include "lightpeft/distributed/local_launcher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <thread>

#include "lightpeft/core/error.h"

namespace lightpeft::dist {

std::vector<std::string> own_command_line() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  size_t start = 0;
  while (start < all.size()) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return args;
}

std::vector<std::string> without_nproc(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--nproc") {
      ++i;  // and its value
      continue;
    }
    if (args[i].rfind("--nproc=", 0) == 0) continue;
    out.push_back(args[i]);
  }
  return out;
}

int free_tcp_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  LP_CHECK(fd >= 0, "--nproc: cannot open a socket to find a free port: ", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  LP_CHECK(ok, "--nproc: cannot find a free TCP port on 127.0.0.1: ", std::strerror(errno));
  return ntohs(addr.sin_port);
}

namespace {

pid_t spawn_worker(const std::vector<std::string>& args, int rank, int nproc, int port) {
  const pid_t pid = ::fork();
  LP_CHECK(pid >= 0, "--nproc: fork failed: ", std::strerror(errno));
  if (pid > 0) return pid;
  // Child: only async-signal-safe-ish work before exec (setenv is fine in a fresh single thread).
  ::setenv("RANK", std::to_string(rank).c_str(), 1);
  ::setenv("LOCAL_RANK", std::to_string(rank).c_str(), 1);
  ::setenv("WORLD_SIZE", std::to_string(nproc).c_str(), 1);
  ::setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
  ::setenv("MASTER_ADDR", "127.0.0.1", 1);
  ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv("/proc/self/exe", argv.data());
  std::fprintf(stderr, "error: --nproc: cannot start worker %d: %s\n", rank, std::strerror(errno));
  ::_exit(127);
}

int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

std::string describe(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by signal ") + std::to_string(WTERMSIG(status)) + " (" +
                                  strsignal(WTERMSIG(status)) + ")";
  return "stopped";
}

}  // namespace

int run_local_workers(int nproc, const std::vector<std::string>& args, std::chrono::seconds grace) {
  LP_CHECK(nproc >= 1, "--nproc: expected at least 1 worker, got ", nproc);
  LP_CHECK(!args.empty(), "--nproc: empty command line");
  const int port = free_tcp_port();
  std::vector<pid_t> pids;
  for (int r = 0; r < nproc; ++r) pids.push_back(spawn_worker(args, r, nproc, port));
  std::cerr << "lightpeft: started " << nproc << " workers (MASTER_ADDR=127.0.0.1 MASTER_PORT=" << port << ")\n";

  int running = nproc, failure_code = 0;
  std::vector<bool> alive(static_cast<size_t>(nproc), true);
  auto rank_of = [&](pid_t pid) {
    for (int r = 0; r < nproc; ++r)
      if (pids[r] == pid) return r;
    return -1;
  };
  auto stop_others = [&](int signal) {
    for (int r = 0; r < nproc; ++r)
      if (alive[r]) ::kill(pids[r], signal);
  };
  auto deadline = std::chrono::steady_clock::time_point::max();
  while (running > 0) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, failure_code ? WNOHANG : 0);
    if (pid == 0) {  // stopping the rest: give them `grace`, then SIGKILL
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << "lightpeft: workers did not stop within " << grace.count() << " s; killing them\n";
        stop_others(SIGKILL);
        deadline = std::chrono::steady_clock::time_point::max();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    const int r = rank_of(pid);
    if (r < 0) continue;
    alive[r] = false;
    --running;
    const int code = exit_code_of(status);
    if (code != 0 && failure_code == 0) {
      failure_code = code;
      // One write: std::cerr is unbuffered, and the workers share this stderr, so a message put
      // together from several writes can come out with a worker's line in the middle.
      std::cerr << ("lightpeft: worker rank " + std::to_string(r) + " of " + std::to_string(nproc) + " " +
                    describe(status) + "; stopping the other workers\n");
      stop_others(SIGTERM);
      deadline = std::chrono::steady_clock::now() + grace;
    }
  }
  return failure_code;
}

}  // namespace lightpeft::dist
