#pragma once
// Attention over short rows of keys on the CPU, as batched matrix products over whole rows:
//
//     P = softmax(scaling * q k^T + mask)   (float32, per query row, kept for the backward)
//     context = P v
//     dv = P^T dcontext,  dP = dcontext v^T,  dS = P * (dP - rowsum(P * dP)) * scaling,
//     dq = dS k,  dk = dS^T q
//
// LibTorch's CPU flash kernel walks each (batch, head) in blocks of 32 query rows, a few dozen
// small matrix products per head; at SmolLM2's shapes (8 x 9 heads x 128 positions, 3 KV heads) its
// forward and backward took 149 ms of a training step over 30 layers, these six batched products
// and two row passes 107 ms (bench_decoder_step --profile, fp32). The price is P in memory (batch
// x heads x T x S floats a layer, where flash keeps one float a row): hence only up to
// kShortAttentionMaxKeys keys, where P is about a tenth of a decoder layer's other activations
// (SmolLM2 at 128 keys: 4.6 against about 41 KB a token, counted from the tensor shapes); longer
// rows go to the flash kernel. Grouped-query attention stacks the query heads
// of each KV head along the rows, so one product serves the group (and sums dk, dv over it).
// Float32 on the CPU, head dims equal. Under bf16 autocast with gradients (training) the inputs are
// rounded to bf16, as LibTorch's attention would cast them, computed in float32, as the flash
// kernel's softmax, and the context returned in bf16:
// the flash kernel's bf16 backward took 7 ms a layer at SmolLM2's shapes (212 ms of an 880 ms
// bf16 step), while its bf16 forward is fast, so inference keeps it. The caller picks this or the
// flash kernel (short_attention_applies).
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

inline constexpr int64_t kShortAttentionMaxKeys = 256;

// CPU q, k, v computed in float32 (their dtype, or autocast's under autocast: what LibTorch's
// attention would compute in), or in bf16/fp16 when a graph is recorded for them; a floating mask
// without gradient, when defined; at most kShortAttentionMaxKeys keys.
bool short_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask);

// q (B, H, T, d), k and v (B, KV, S, d) with H = KV * heads_per_kv (query head h reads KV head
// h / heads_per_kv, HF's repeat_kv); mask additive, (B or 1, 1, T or 1, S) (a decoder's causal
// mask, an encoder's padding mask), or undefined. Returns the
// context (B, H, T, d). Throws lightpeft::Error for shapes that do not fit.
at::Tensor short_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                           double scaling, int64_t heads_per_kv);

}  // namespace lightpeft::kernels
