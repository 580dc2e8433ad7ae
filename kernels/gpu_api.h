#pragma once
// What every torch-free kernel entry point shares: the element type tag and the status codes.
// Pointers passed to the kernels are device pointers; a stream is a cudaStream_t passed as void*
// so that these headers need no CUDA include (the library's bridge in src/kernels/ includes them
// from plain C++ files compiled without nvcc).
#include <cstdint>

namespace lightpeft::gpu {

// Element type of the tensors a kernel reads and writes. Arithmetic is always fp32 inside.
enum class DType : int { f32 = 0, bf16 = 1 };

// 0: success; > 0: a cudaError_t from the launch; < 0: one of these.
constexpr int kOk = 0;
constexpr int kInvalidArgument = -1;  // a size or pointer the kernel cannot take
constexpr int kUnsupported = -2;      // valid, but outside what this kernel implements (use the reference)

// A message for a status code (cudaGetErrorString for CUDA errors).
const char* status_string(int status);

}  // namespace lightpeft::gpu
