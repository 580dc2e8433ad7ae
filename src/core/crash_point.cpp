#include "lightpeft/core/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>

namespace lightpeft {
namespace {

struct KillAt {
  bool armed = false;
  std::string point;
  long count = 0;
};

KillAt read_kill_at() {
  KillAt k;
  const char* env = std::getenv("LIGHTPEFT_TEST_KILL_AT");
  if (env == nullptr) return k;
  const std::string spec = env;
  const size_t colon = spec.rfind(':');
  if (colon == std::string::npos) return k;
  k.point = spec.substr(0, colon);
  k.count = std::strtol(spec.c_str() + colon + 1, nullptr, 10);
  k.armed = !k.point.empty() && k.count > 0;
  return k;
}

}  // namespace

void crash_point(const std::string& point) {
  static const KillAt kill_at = read_kill_at();
  if (!kill_at.armed || point != kill_at.point) return;
  static std::atomic<long> passed{0};
  if (++passed == kill_at.count) ::kill(::getpid(), SIGKILL);
}

}  // namespace lightpeft
