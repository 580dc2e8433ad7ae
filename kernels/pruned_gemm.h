#pragma once
// A GEMM that reads its second operand through kept-index lists, so that a pruning plan can be
// applied to a linear layer without copying its weight (fast estimate -> finetune switching,
// evaluating candidate plans):
//     C[m, n] = sum_k A[m, k] * B(n, k) + bias[bias_index ? bias_index[n] : n]
//     B(n, k) = ptr[n_at(n) * stride_n + k_at(k) * stride_k],  n_at(n) = n_index ? n_index[n] : n
// The forward of a linear pruned to output rows `rows` and input columns `cols` is
//     B = {weight, in_full, 1, rows, cols}, bias_index = rows
// and the input gradient dx = dy * W[rows][:, cols] is
//     B = {weight, 1, in_full, cols, rows}, no bias.
// Indices are int64 and must be valid (the bridge checks them once, KeptIndex); fp32 uses FFMA
// (exact fp32, as cuBLAS without TF32), bf16 tensor cores (WMMA m16n16k16) with fp32 accumulation.
#include <cstdint>

#include "gpu_api.h"

namespace lightpeft::gpu {

struct GatheredMatrix {
  const void* ptr = nullptr;  // in the GEMM's dtype
  int64_t stride_n = 0, stride_k = 0;
  const int64_t* n_index = nullptr;  // (N) or null: identity
  const int64_t* k_index = nullptr;  // (K) or null: identity
};

// A: (M, K) with row stride lda (k contiguous). C: (M, N) with row stride ldc. bias: null or in
// dtype, read through bias_index (null: identity).
int pruned_gemm(DType dtype, int64_t M, int64_t N, int64_t K, const void* a, int64_t lda,
                const GatheredMatrix& b, const void* bias, const int64_t* bias_index, void* c,
                int64_t ldc, void* stream);

}  // namespace lightpeft::gpu
