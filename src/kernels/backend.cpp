#include "lightpeft/kernels/backend.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "lightpeft/core/error.h"

namespace lightpeft::kernels {
namespace {

std::atomic<int> g_backend{-1};  // -1: not read from the environment yet
std::once_flag g_env_once;

void read_environment() {
  const char* env = std::getenv("LIGHTPEFT_KERNELS");
  const Backend b = env && *env ? parse_backend(env, "environment variable LIGHTPEFT_KERNELS")
                                : Backend::reference;
  int unset = -1;  // set_backend() before the first backend() wins
  g_backend.compare_exchange_strong(unset, static_cast<int>(b));
}

}  // namespace

std::string to_string(Backend backend) {
  return backend == Backend::fused ? "fused" : "reference";
}

Backend parse_backend(const std::string& name, const std::string& origin) {
  if (name == "reference") return Backend::reference;
  if (name == "fused") return Backend::fused;
  throw_error(origin, ": expected 'reference' or 'fused', got '", name, "'");
}

Backend backend() {
  if (g_backend.load() < 0) std::call_once(g_env_once, read_environment);
  return static_cast<Backend>(g_backend.load());
}

void set_backend(Backend backend) { g_backend.store(static_cast<int>(backend)); }

bool compiled_with_cuda() {
#ifdef LIGHTPEFT_WITH_CUDA
  return true;
#else
  return false;
#endif
}

bool use_fused(const at::Tensor& t) {
  return compiled_with_cuda() && t.defined() && t.is_cuda() && backend() == Backend::fused;
}

}  // namespace lightpeft::kernels
