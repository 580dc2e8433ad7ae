// Host-only CUDA runtime queries (device_query.h) and the status strings (gpu_api.h).
#include "device_query.h"

#include <cuda_runtime.h>

#include <cstring>

#include "gpu_api.h"

namespace lightpeft::gpu {

const char* status_string(int status) {
  if (status == kOk) return "success";
  if (status == kInvalidArgument) return "invalid argument to a lightpeft kernel";
  if (status == kUnsupported) return "case not implemented by the lightpeft kernel";
  return cudaGetErrorString(static_cast<cudaError_t>(status));
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the error: no driver/device is an answer, not a failure
    return 0;
  }
  return n;
}

int query_device(int device, DeviceProperties* out) {
  if (!out) return kInvalidArgument;
  cudaDeviceProp prop{};
  if (auto st = cudaGetDeviceProperties(&prop, device)) return static_cast<int>(st);
  std::strncpy(out->name, prop.name, sizeof(out->name) - 1);
  out->cc_major = prop.major;
  out->cc_minor = prop.minor;
  out->sm_count = prop.multiProcessorCount;
  out->memory_bus_width_bits = prop.memoryBusWidth;
  out->l2_bytes = prop.l2CacheSize;
  out->global_memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
  // The clock fields left cudaDeviceProp in CUDA 13; the attributes remain.
  if (auto st = cudaDeviceGetAttribute(&out->sm_clock_khz, cudaDevAttrClockRate, device))
    return static_cast<int>(st);
  if (auto st = cudaDeviceGetAttribute(&out->memory_clock_khz, cudaDevAttrMemoryClockRate, device))
    return static_cast<int>(st);
  return kOk;
}

}  // namespace lightpeft::gpu
