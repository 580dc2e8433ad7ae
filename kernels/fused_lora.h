#pragma once
// The low-rank half of a LoRA linear, fused into the output of the base GEMM:
//     y = x W^T + b          (cuBLAS, with its bias epilogue, through the library)
//     u = x_lora A^T         (cuBLAS; (M, r), small)
//     y += scaling * u B^T   (this kernel, in place: one read and one write of y)
// and, in the same pass, the per-token squared norms that Light-PEFT's module importance needs
// (spec 1.2 a, ||delta|| / ||W x + b||): delta_sq[m] = sum_n delta[m, n]^2 and
// base_sq[m] = sum_n y_base[m, n]^2, so recording the importance costs no extra pass over y.
// Rank 0 is the base GEMM alone (the library does not call this).
#include <cstdint>

#include "gpu_api.h"

namespace lightpeft::gpu {

// y (M, N), u (M, r), b (N, r), all contiguous in `dtype`; delta_sq, base_sq: (M) fp32 or null.
// Each row's norms are summed by one block (deterministic; no atomics).
int lora_update(DType dtype, int64_t M, int64_t N, int64_t r, const void* u, const void* b,
                float scaling, void* y, float* delta_sq, float* base_sq, void* stream);

}  // namespace lightpeft::gpu
