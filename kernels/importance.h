#pragma once
// Light-PEFT's PEFT importances (spec 1.2), accumulated in place on the device, each in one
// launch that reads its inputs once (the reference path makes a temporary per elementwise step).
#include <cstdint>

#include "gpu_api.h"

namespace lightpeft::gpu {

// Rank Taylor score (spec 1.2 b), added to sum (r, fp32):
//     sum[i] += | mean_j a[i, j] * grad_a[i, j] | + | mean_k b[k, i] * grad_b[k, i] |
// a, grad_a: (r, in); b, grad_b: (out, r); contiguous in `dtype`. A null gradient contributes 0.
int rank_taylor_accumulate(DType dtype, int64_t r, int64_t in, int64_t out, const void* a,
                           const void* grad_a, const void* b, const void* grad_b, float* sum,
                           void* stream);

// Module norm ratio (spec 1.2 a) of one forward, from the per-token squared norms of
// lora_update (fused_lora.h): over the tokens m with token_mask[m] (all when null)
//     *ratio_sum += sum sqrt(delta_sq[m]) / sqrt(base_sq[m]),   *token_count += number of tokens
// A NaN/Inf ratio of a counted token propagates (the caller's step value turns it into 0, as the
// official code); masked-out tokens never count.
int module_ratio_accumulate(int64_t tokens, const float* delta_sq, const float* base_sq,
                            const bool* token_mask, float* ratio_sum, float* token_count,
                            void* stream);

}  // namespace lightpeft::gpu
