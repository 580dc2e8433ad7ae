#pragma once
// Light-PEFT's neuron-masked FFN activation (spec 1.1): the first FFN matmul (cuBLAS, through the
// library) produces h = x W1^T + b1 of shape (rows, cols); this epilogue computes
//     y = act(h) * mask[col]
// in one pass, and its backward
//     dh = dy * mask[col] * act'(h),        d mask[col] = sum over rows of dy * act(h)
// in one pass over h and dy (the reference path needs the activation output saved and separate
// kernels for the activation, the product, its backward and the reduction).
// The mask gradient is written as per-row-block partial sums (deterministic, no atomics):
// dmask_partial (masked_activation_row_blocks(rows), cols), summed over its first dim.
#include <cstdint>

#include "gpu_api.h"

namespace lightpeft::gpu {

// HF hidden_act names: gelu (erf), gelu_new / gelu_pytorch_tanh (tanh approximation), relu, silu.
enum class Activation : int { gelu = 0, gelu_tanh = 1, relu = 2, silu = 3 };

int64_t masked_activation_row_blocks(int64_t rows);

// h, y: (rows, cols) contiguous in `dtype`; mask (cols) fp32 or null (no mask).
int masked_activation_forward(DType dtype, Activation act, int64_t rows, int64_t cols,
                              const void* h, const float* mask, void* y, void* stream);

// dh may alias dy. dmask_partial may be null (no mask gradient wanted).
int masked_activation_backward(DType dtype, Activation act, int64_t rows, int64_t cols,
                               const void* h, const float* mask, const void* dy, void* dh,
                               float* dmask_partial, void* stream);

}  // namespace lightpeft::gpu
