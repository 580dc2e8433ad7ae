#pragma once
// The attention arithmetic every family shares (HF's eager_attention_forward, computed by LibTorch's
// scaled-dot-product attention):
//   probs = dropout(softmax(q k^T * scaling + mask)) [* head mask];  context = probs v
// with grouped-query attention (each key/value head serves heads_per_unit query heads) and
// Light-PEFT's mask per attention unit (a KV group: it multiplies the probabilities of every query
// head of the group). The kernel accumulates the softmax in float32 for bf16/fp16 inputs, as HF's.
#include <cstdint>

#include <ATen/core/Tensor.h>

#include "lightpeft/models/dropout.h"

namespace lightpeft {

// q (B, H, T, d); k, v (B, KV, S, d) with H = KV * heads_per_unit; additive_mask (B, 1, T, S) or
// undefined; unit_mask (1, KV, 1, 1) or undefined. Returns the context (B, T, H * d).
at::Tensor grouped_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& additive_mask, const at::Tensor& unit_mask,
                             int64_t heads_per_unit, double scaling, Dropout& dropout);

// Generation: prepends the cached keys/values of the tokens seen so far to k and v (B, KV, T, d)
// and stores the result back in the cache; nothing when the cache pointers are null.
void extend_kv_cache(at::Tensor& k, at::Tensor& v, at::Tensor* cached_keys, at::Tensor* cached_values);

// (B, KV, S, d) -> (B, KV * n, S, d), each head repeated n times in place (HF repeat_kv).
at::Tensor repeat_kv(const at::Tensor& x, int64_t n);

}  // namespace lightpeft
