#pragma once
// The CUDA device's peak rates, for rooflines in benchmarks: bandwidth from the memory clock and
// bus width, arithmetic from a table of known parts (dense, no sparsity) or, for other parts, from
// the SM count and clock. Empty when this build has no CUDA kernels or there is no device.
#include <optional>
#include <string>

namespace lightpeft::kernels {

struct DeviceInfo {
  std::string name;
  int sm_count = 0;
  int compute_capability = 0;         // 90 for sm_90
  double memory_bandwidth = 0.0;      // bytes / s
  double peak_fp32_flops = 0.0;       // plain FFMA
  double peak_bf16_flops = 0.0;       // tensor cores, dense
  std::string peak_source;            // "table: H100 SXM" or "estimate from SM count and clock"
};

std::optional<DeviceInfo> cuda_device_info(int device = 0);

}  // namespace lightpeft::kernels
