#include "lightpeft/train/runtime.h"

#include <ATen/autocast_mode.h>
#include <ATen/cpu/Utils.h>
#include <torch/cuda.h>

#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>
#if __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define LIGHTPEFT_HAVE_C10_CUDA 1
#endif

#include "lightpeft/core/allocator.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {

namespace {

// The keys of the config that ask for bf16 arithmetic on this run's device.
std::vector<std::string> bf16_keys(const TrainConfig& config) {
  std::vector<std::string> keys;
  if (config.dtype == Dtype::bf16) keys.push_back("dtype");
  if (config.base_dtype == BaseDtype::bf16) keys.push_back("base_dtype");
  if (config.method == Method::light_peft && config.light_peft.estimate_base_dtype == BaseDtype::bf16)
    keys.push_back("light_peft.estimate_base_dtype");
  return keys;
}

void warn_without_bf16_units(const TrainConfig& config, const Runtime& rt) {
  static bool warned = false;
  if (warned || !rt.device.is_cpu()) return;
  const std::vector<std::string> keys = bf16_keys(config);
  if (keys.empty() || cpu_has_bf16_units().value_or(true)) return;
  warned = true;
  std::string names;
  for (const auto& k : keys) names += (names.empty() ? "'" : ", '") + k + "'";
  log::warn(config.source.string(), ": bf16 asked for by ", names, " on a CPU without bf16 units (neither ",
            "AVX512-BF16 nor AMX-BF16): its bf16 matrix products are emulated and likely slower than fp32");
}

}  // namespace

Runtime make_runtime(const TrainConfig& config) {
  Runtime rt;
  const std::string origin = config.source.string();
  if (config.device == "auto") {
    rt.device = torch::cuda::is_available() ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  } else if (config.device == "cpu") {
    rt.device = c10::Device(c10::kCPU);
  } else {
    LP_CHECK(torch::cuda::is_available(), origin, ": key 'device': '", config.device,
             "' asked for, but CUDA is not available on this machine (use device: auto or cpu)");
    rt.device = c10::Device(config.device);
    LP_CHECK(rt.device.index() < static_cast<int>(torch::cuda::device_count()), origin,
             ": key 'device': '", config.device, "' but only ", torch::cuda::device_count(),
             " CUDA devices exist");
  }
  if (config.dtype == Dtype::fp16) {
    // CPU fp16 matmuls are slow and fp16 needs loss scaling; bf16 is the CPU's reduced precision.
    LP_CHECK(rt.device.is_cuda(), origin, ": key 'dtype': fp16 autocast is for CUDA devices; on the "
             "CPU use bf16 or fp32");
    rt.autocast_dtype = c10::kHalf;
  } else if (config.dtype == Dtype::bf16) {
    rt.autocast_dtype = c10::kBFloat16;  // CUDA, or CPUs with bf16 units (AVX512-BF16/AMX: ~2x fp32)
  }
  warn_without_bf16_units(config, rt);
  return rt;
}

std::optional<bool> cpu_has_bf16_units() {
  const auto caps = at::cpu::get_cpu_capabilities();
  const auto flag = [&](const char* name) -> std::optional<bool> {
    const auto it = caps.find(name);
    if (it == caps.end() || !it->second.isBool()) return std::nullopt;
    return it->second.toBool();
  };
  const std::optional<bool> avx512 = flag("avx512_bf16"), amx = flag("amx_bf16");
  if (!avx512 && !amx) return std::nullopt;
  return avx512.value_or(false) || amx.value_or(false);
}

AutocastScope::AutocastScope(const Runtime& rt)
    : enabled_(rt.autocast()), device_type_(rt.device.type()) {
  if (!enabled_) return;
  previous_ = at::autocast::is_autocast_enabled(device_type_);
  at::autocast::set_autocast_dtype(device_type_, rt.autocast_dtype);
  at::autocast::set_autocast_enabled(device_type_, true);
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  at::autocast::set_autocast_enabled(device_type_, previous_);
  if (!previous_) at::autocast::clear_cache();
}

ModelInputs to_inputs(const Batch& batch, const Runtime& rt) {
  ModelInputs in;
  in.input_ids = batch.input_ids.to(rt.device);
  in.attention_mask = batch.attention_mask.to(rt.device);
  in.token_type_ids = batch.token_type_ids.to(rt.device);
  if (batch.segment_ids.defined()) in.segment_ids = batch.segment_ids.to(rt.device);  // packed rows
  return in;
}

namespace {

// A "Vm...:" line of /proc/self/status in bytes; -1 where there is no such file or line.
int64_t proc_status_bytes(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key, 0) == 0) return std::strtoll(line.c_str() + key.size(), nullptr, 10) * 1024;  // kB
  return -1;
}

}  // namespace

PeakMemory peak_memory(const Runtime& rt) {
  PeakMemory m;
  m.cpu_rss_bytes = proc_status_bytes("VmHWM:");
  struct rusage usage {};
  if (m.cpu_rss_bytes < 0 && getrusage(RUSAGE_SELF, &usage) == 0)
    m.cpu_rss_bytes = static_cast<int64_t>(usage.ru_maxrss) * 1024;  // KiB on Linux
#ifdef LIGHTPEFT_HAVE_C10_CUDA
  if (rt.device.is_cuda() && torch::cuda::is_available()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(rt.device.index() < 0 ? 0 : rt.device.index());
    m.cuda_allocated_bytes =
        stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
  }
#endif
  return m;
}

int64_t resident_cpu_bytes() {
  release_free_memory();
  return proc_status_bytes("VmRSS:");
}

void reset_peak_memory(const Runtime& rt) {
  // Freed memory goes back to the kernel first, or the allocator would keep the earlier stage's
  // high-water mark resident and the next stage would inherit it.
  release_free_memory();
  std::ofstream("/proc/self/clear_refs") << "5";
#ifdef LIGHTPEFT_HAVE_C10_CUDA
  if (rt.device.is_cuda() && torch::cuda::is_available())
    c10::cuda::CUDACachingAllocator::resetPeakStats(rt.device.index() < 0 ? 0 : rt.device.index());
#else
  (void)rt;
#endif
}

}  // namespace lightpeft
