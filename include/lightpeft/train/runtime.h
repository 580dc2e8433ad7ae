#pragma once
// Where and in which precision training runs: the device from the config ("auto" picks CUDA when
// there is one), bf16 autocast (CUDA or CPU) and fp16 autocast (CUDA).
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "lightpeft/data/batcher.h"
#include "lightpeft/models/model_io.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft {

struct Runtime {
  c10::Device device = c10::Device(c10::kCPU);
  // Autocast dtype: kFloat means no autocast; kBFloat16 (CUDA or CPU) or kHalf (CUDA only; fp16
  // also scales the loss, see loss_scaler.h).
  c10::ScalarType autocast_dtype = c10::kFloat;
  bool autocast() const { return autocast_dtype != c10::kFloat; }
  bool loss_scaling() const { return autocast_dtype == c10::kHalf; }
};

// Throws lightpeft::Error for a CUDA device on a machine without one, or fp16 on the CPU. Warns
// (once per process) when the config asks for bf16 arithmetic (dtype, base_dtype or
// light_peft.estimate_base_dtype) on a CPU without bf16 units.
Runtime make_runtime(const TrainConfig& config);

// Whether this CPU computes bf16 GEMMs in hardware (x86: AVX512-BF16 or AMX-BF16, as LibTorch's
// cpuinfo reports them); without, oneDNN emulates them and bf16 weights cost time instead of
// saving it. nullopt where LibTorch does not say (non-x86 CPUs).
std::optional<bool> cpu_has_bf16_units();

// Enables autocast for the scope when the runtime asks for it.
class AutocastScope {
 public:
  explicit AutocastScope(const Runtime& rt);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool enabled_;
  c10::DeviceType device_type_;
  bool previous_ = false;
};

ModelInputs to_inputs(const Batch& batch, const Runtime& rt);

// Peak memory since the process started or since the last reset_peak_memory: the CPU's peak
// resident set (Linux: VmHWM of /proc/self/status; elsewhere getrusage's ru_maxrss, never reset)
// and, when the runtime is on CUDA, the peak bytes allocated through torch's CUDA caching
// allocator (-1 when not on CUDA).
struct PeakMemory {
  int64_t cpu_rss_bytes = 0;
  int64_t cuda_allocated_bytes = -1;
};
PeakMemory peak_memory(const Runtime& rt);

// The CPU's resident set now (Linux: VmRSS of /proc/self/status), after returning freed memory to
// the kernel (release_free_memory): what the process holds, not what its allocator could reuse.
// -1 where there is no such file.
int64_t resident_cpu_bytes();

// Starts a new peak (glibc: first returns freed memory to the kernel, malloc_trim; Linux: writes 5
// to /proc/self/clear_refs, which sets the high-water mark to
// the current resident set; CUDA: resets the allocator's peak statistics), so that each stage of a
// run reports its own peak. Where the kernel refuses, the peak stays the process's.
void reset_peak_memory(const Runtime& rt);

}  // namespace lightpeft
