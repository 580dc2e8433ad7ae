#pragma once
// Rotary position embedding (HF's apply_rotary_pos_emb for one of q, k) in one pass on the CPU:
//
//     y = x * cos + rotate_half(x) * sin,   rotate_half(x) = cat(-x[d/2:], x[:d/2])
//     dx = dy * cos + rotate_half^T(dy * sin),   rotate_half^T(g) = cat(g[d/2:], -g[:d/2])
//
// ATen's composite (two slices, a negation, a cat, two multiplies and an add forward; as many
// backward, with zero-filled slice gradients) walks q and k about a dozen times per layer; this
// reads x once and writes y (and reads dy once and writes dx). x is (batch, heads, seq, head_dim)
// with any strides whose last one is 1 (the usual transposed view of a projection); y is
// contiguous, dx in x's layout; cos and sin are (batch or 1, seq, head_dim). Same arithmetic per element as the composite (a product and a
// sum in float), so outputs equal it up to the order of that sum. Float32 on the CPU, cos and sin
// without gradients; also bf16 x with float32 cos/sin without a graph (inference under autocast:
// the float32 result, rounded to bf16 where autocast would cast it for the attention); anything
// else runs the composite.
#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// Throws lightpeft::Error for shapes that do not fit together (or an odd head_dim).
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);

namespace reference {
at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin);
}  // namespace reference

}  // namespace lightpeft::kernels
