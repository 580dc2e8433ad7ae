#include "lightpeft/train/runtime.h"

#include <ATen/autocast_mode.h>
#include <torch/cuda.h>

#include <sys/resource.h>

#include <cstdlib>
#include <fstream>
#include <string>
#if __has_include(<c10/cuda/CUDACachingAllocator.h>)
#include <c10/cuda/CUDACachingAllocator.h>
#define LIGHTPEFT_HAVE_C10_CUDA 1
#endif

#include "lightpeft/core/allocator.h"
#include "lightpeft/core/error.h"

namespace lightpeft {

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
  return rt;
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

// VmHWM of /proc/self/status in bytes; -1 where there is no such file or line.
int64_t proc_high_water_mark() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtoll(line.c_str() + 6, nullptr, 10) * 1024;  // kB
  return -1;
}

}  // namespace

PeakMemory peak_memory(const Runtime& rt) {
  PeakMemory m;
  m.cpu_rss_bytes = proc_high_water_mark();
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
