#pragma once
// Torch-free entry points of the CUDA kernels. Pointers are device pointers; `stream` is a
// cudaStream_t passed as void* so this header needs no CUDA include. Each returns 0 on success or a
// cudaError_t code.
#include <cstdint>

namespace lightpeft::kernels {

// probs[b, h, i, j] *= mask[h] in place, probs contiguous (B, H, T, S), fp32.
// The Light-PEFT head mask (spec 1.1) applied after softmax and attention dropout.
int head_mask_forward_f32(float* probs, const float* mask, int64_t batch, int64_t heads,
                          int64_t rows_per_head, void* stream);

}  // namespace lightpeft::kernels
