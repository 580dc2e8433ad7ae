#include "lightpeft/models/attention_core.h"

#include <ATen/ops/cat.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/repeat_interleave.h>
#include <ATen/ops/softmax.h>

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
                             int64_t heads_per_unit, double scaling, torch::nn::Dropout& dropout) {
  const int64_t batch = q.size(0), heads = q.size(1), seq = q.size(2), d = q.size(3);
  auto keys = repeat_kv(k, heads_per_unit);
  auto values = repeat_kv(v, heads_per_unit);
  auto scores = at::matmul(q, keys.transpose(-1, -2)) * scaling;
  if (additive_mask.defined()) scores = scores + additive_mask;
  auto probs = dropout(at::softmax(scores, -1, at::kFloat).to(q.scalar_type()));
  if (unit_mask.defined()) {
    auto per_head = heads_per_unit == 1 ? unit_mask : at::repeat_interleave(unit_mask, heads_per_unit, 1);
    probs = probs * per_head;
  }
  auto context = at::matmul(probs, values);  // (B, H, T, d)
  return context.transpose(1, 2).reshape({batch, seq, heads * d});
}

}  // namespace lightpeft
