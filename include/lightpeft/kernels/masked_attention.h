#pragma once
// Self-attention with Light-PEFT's head mask (spec 1.1) on the outputs of the query/key/value
// linears, as SelfAttention::forward computes it (src/models/attention.cpp):
//     scores  = (q_h k_h^T) / sqrt(d) + attn_bias
//     probs   = dropout(softmax(scores, -1))
//     context = (probs * head_mask) v_h           -> (B, T, H * d)
// CUDA tensors (fp32 or bf16, head dim <= 128, attn_bias of shape (B or 1, 1, 1, T) without
// gradient): the fused kernel (kernels/masked_attention.h), forward and backward including
// d head_mask, with no (T x T) tensor in memory. Anything else: the reference, which is the
// model's code. Dropout draws from torch's generators in both paths, but the fused kernel's
// keep-mask is its own Philox stream, so the two paths agree in distribution, not bitwise, when
// dropout is active.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// q, k, v: (B, T, H * d), equal shapes; attn_bias: additive, broadcastable to (B, H, T, T)
// (HF's extended mask (B, 1, 1, T)), or undefined; head_mask: H elements ((1, H, 1, 1) as
// HeadMask, or (H)), or undefined; dropout_p in [0, 1), applied when `training`.
// Throws lightpeft::Error for shapes that do not fit.
at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& attn_bias, const at::Tensor& head_mask,
                            int64_t num_heads, double dropout_p = 0.0, bool training = false);

namespace reference {
at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& attn_bias, const at::Tensor& head_mask,
                            int64_t num_heads, double dropout_p = 0.0, bool training = false);
}  // namespace reference

}  // namespace lightpeft::kernels
