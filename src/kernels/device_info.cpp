#include "lightpeft/kernels/device_info.h"

#ifdef LIGHTPEFT_WITH_CUDA
#include "lightpeft_kernels.h"
#endif

namespace lightpeft::kernels {

std::optional<DeviceInfo> cuda_device_info(int device) {
#ifdef LIGHTPEFT_WITH_CUDA
  if (device < 0 || device >= gpu::device_count()) return std::nullopt;
  gpu::DeviceProperties p;
  if (gpu::query_device(device, &p) != gpu::kOk) return std::nullopt;
  DeviceInfo info;
  info.name = p.name;
  info.sm_count = p.sm_count;
  info.compute_capability = 10 * p.cc_major + p.cc_minor;
  // HBM/GDDR move data on both clock edges.
  info.memory_bandwidth = 2.0 * p.memory_clock_khz * 1e3 * p.memory_bus_width_bits / 8.0;
  // Datasheet rates (dense, boost clock); the H200 has the H100 SXM's arithmetic.
  struct Known {
    const char* match;
    const char* label;
    double fp32, bf16;
  };
  static const Known kKnown[] = {
      {"H200", "H200 (datasheet)", 67e12, 989e12},
      {"H100 PCIe", "H100 PCIe (datasheet)", 51e12, 756e12},
      {"H100", "H100 SXM (datasheet)", 67e12, 989e12},
      {"A100", "A100 (datasheet)", 19.5e12, 312e12},
  };
  for (const auto& k : kKnown) {
    if (info.name.find(k.match) == std::string::npos) continue;
    info.peak_fp32_flops = k.fp32;
    info.peak_bf16_flops = k.bf16;
    info.peak_source = k.label;
    return info;
  }
  // Other parts: 128 FP32 lanes per SM, an FMA is 2 FLOP; tensor cores taken as 16x that for
  // bf16 (the A100's and H100's ratio). A lead, not a datasheet figure.
  info.peak_fp32_flops = 2.0 * 128 * p.sm_count * p.sm_clock_khz * 1e3;
  info.peak_bf16_flops = 16.0 * info.peak_fp32_flops;
  info.peak_source = "estimate from SM count and clock";
  return info;
#else
  (void)device;
  return std::nullopt;
#endif
}

}  // namespace lightpeft::kernels
