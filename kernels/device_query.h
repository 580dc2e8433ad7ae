#pragma once
// The properties of a CUDA device that a roofline needs, read through the CUDA runtime (the
// benchmarks' peak rates come from these plus a table of known parts, src/kernels/device_info.cpp).
#include <cstdint>

namespace lightpeft::gpu {

struct DeviceProperties {
  char name[256] = {};
  int cc_major = 0, cc_minor = 0;
  int sm_count = 0;
  int sm_clock_khz = 0;         // peak SM clock
  int memory_clock_khz = 0;     // peak memory clock
  int memory_bus_width_bits = 0;
  int64_t l2_bytes = 0;
  int64_t global_memory_bytes = 0;
};

// Number of visible CUDA devices (0 when there is no driver or no device).
int device_count();
int query_device(int device, DeviceProperties* out);

}  // namespace lightpeft::gpu
