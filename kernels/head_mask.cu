#include "lightpeft_kernels.h"

#include <cuda_runtime.h>

namespace lightpeft::kernels {
namespace {

// One thread per element; the head index is (flat / rows_per_head) % heads.
__global__ void head_mask_forward_kernel(float* probs, const float* mask, int64_t total,
                                         int64_t heads, int64_t rows_per_head) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t h = (i / rows_per_head) % heads;
    probs[i] *= mask[h];
  }
}

}  // namespace

int head_mask_forward_f32(float* probs, const float* mask, int64_t batch, int64_t heads,
                          int64_t rows_per_head, void* stream) {
  const int64_t total = batch * heads * rows_per_head;
  if (total == 0) return 0;
  const int threads = 256;
  const int64_t want = (total + threads - 1) / threads;
  const int blocks = static_cast<int>(want < 65535 ? want : 65535);
  head_mask_forward_kernel<<<blocks, threads, 0, static_cast<cudaStream_t>(stream)>>>(
      probs, mask, total, heads, rows_per_head);
  return static_cast<int>(cudaGetLastError());
}

}  // namespace lightpeft::kernels
