#include "lightpeft/kernels/cpu_vector_width.h"

#include <atomic>

#include "lightpeft/core/error.h"

namespace lightpeft::kernels {
namespace {

int detect() {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) return 16;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 8;
#endif
  return 4;
}

std::atomic<int>& chosen() {
  static std::atomic<int> width{widest_cpu_vector_width()};
  return width;
}

}  // namespace

int widest_cpu_vector_width() {
  static const int widest = detect();
  return widest;
}

int cpu_vector_width() { return chosen().load(std::memory_order_relaxed); }

void set_cpu_vector_width(int lanes) {
  LP_CHECK((lanes == 4 || lanes == 8 || lanes == 16) && lanes <= widest_cpu_vector_width(),
           "set_cpu_vector_width: ", lanes, " lanes (this CPU runs 4",
           widest_cpu_vector_width() >= 8 ? ", 8" : "", widest_cpu_vector_width() >= 16 ? ", 16" : "", ")");
  chosen().store(lanes, std::memory_order_relaxed);
}

}  // namespace lightpeft::kernels
