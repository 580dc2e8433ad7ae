#include "lightpeft/models/attention_core.h"

#include <optional>

#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/repeat_interleave.h>
#include <ATen/ops/scaled_dot_product_attention.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/kernels/short_attention.h"

namespace lightpeft {

void extend_kv_cache(at::Tensor& k, at::Tensor& v, at::Tensor* cached_keys, at::Tensor* cached_values) {
  if (cached_keys == nullptr) return;
  if (cached_keys->defined()) {
    k = at::cat({*cached_keys, k}, 2);
    v = at::cat({*cached_values, v}, 2);
  }
  *cached_keys = k;
  *cached_values = v;
}

at::Tensor repeat_kv(const at::Tensor& x, int64_t n) {
  if (n == 1) return x;
  const auto b = x.size(0), kv = x.size(1), s = x.size(2), d = x.size(3);
  return x.unsqueeze(2).expand({b, kv, n, s, d}).reshape({b, kv * n, s, d});
}

at::Tensor grouped_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                             const at::Tensor& additive_mask, const at::Tensor& unit_mask,
                             int64_t heads_per_unit, double scaling, Dropout& dropout) {
  const int64_t batch = q.size(0), heads = q.size(1), seq = q.size(2), d = q.size(3);
  if (heads == 0 || k.size(2) == 0) return at::zeros({batch, seq, heads * d}, q.options());
  auto per_head_mask = [&] {
    auto m = heads_per_unit == 1 ? unit_mask : at::repeat_interleave(unit_mask, heads_per_unit, 1);
    return m.to(q.scalar_type());
  };
  std::optional<at::Tensor> mask;
  if (additive_mask.defined())
    mask = additive_mask.scalar_type() == q.scalar_type() ? additive_mask : additive_mask.to(q.scalar_type());
  at::Tensor context;  // (B, H, T, d)
  if (dropout->is_training() && dropout->options.p() > 0) {
    // Dropout on the probabilities: HF's eager arithmetic, with the dropout module's draws (the
    // fused kernels would take LibTorch's math path here anyway, storing the same tensors).
    auto scores = at::matmul(q, repeat_kv(k, heads_per_unit).transpose(-1, -2)) * scaling;
    if (mask) scores = scores + *mask;
    auto probs = dropout(at::softmax(scores, -1, at::kFloat).to(q.scalar_type()));
    if (unit_mask.defined()) probs = probs * per_head_mask();
    context = at::matmul(probs, repeat_kv(v, heads_per_unit));
  } else if (kernels::short_attention_applies(q, k, v, mask ? *mask : at::Tensor())) {
    // Up to 256 keys on the CPU: whole rows as batched products (kernels/short_attention.h),
    // faster than the flash kernel's blocks there; the unit mask as below.
    context = kernels::short_attention(q, k, v, mask ? *mask : at::Tensor(), scaling, heads_per_unit);
    if (unit_mask.defined()) context = context * per_head_mask();
  } else {
    // LibTorch's fused attention: on the CPU a flash kernel that never stores the (T, S)
    // probabilities for the backward pass (a log-sum-exp per row instead) and accumulates the
    // softmax in float32 for bf16/fp16 inputs; about 2.5x faster than the eager arithmetic for
    // MiniLM's shapes, forward and backward.
    context = at::scaled_dot_product_attention(q, k, v, mask, 0.0, /*is_causal=*/false, scaling,
                                               /*enable_gqa=*/heads_per_unit > 1);
    // A unit's mask multiplies all its heads' probabilities, and (m P) V = m (P V): applied to the
    // context it gives the same value and the same mask gradient, sum(grad * context), up to
    // rounding.
    if (unit_mask.defined()) context = context * per_head_mask();
  }
  return context.transpose(1, 2).reshape({batch, seq, heads * d});
}

}  // namespace lightpeft
