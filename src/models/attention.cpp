#include "lightpeft/models/attention.h"

#include <cmath>

#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/attention_core.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/kernels/masked_attention.h"

namespace lightpeft {

SelfAttentionImpl::SelfAttentionImpl(const ModelConfig& c, int64_t num_heads)
    : num_heads_(num_heads), head_size_(c.head_size()) {
  const int64_t all = num_heads * head_size_;
  register_linear(*this, "query", &query, std::make_shared<DenseImpl>(c.hidden_size, all));
  register_linear(*this, "key", &key, std::make_shared<DenseImpl>(c.hidden_size, all));
  register_linear(*this, "value", &value, std::make_shared<DenseImpl>(c.hidden_size, all));
  dropout = register_module("dropout", Dropout(c.attention_probs_dropout_prob));
}

torch::Tensor SelfAttentionImpl::forward(const torch::Tensor& hidden,
                                         const torch::Tensor& additive_mask,
                                         const torch::Tensor& head_mask) {
  const int64_t batch = hidden.size(0), seq = hidden.size(1);
  if (num_heads_ == 0) return at::zeros({batch, seq, 0}, hidden.options());
  // (B, T, H*d) -> (B, H, T, d)
  auto split = [&](const torch::Tensor& x) {
    return x.view({batch, seq, num_heads_, head_size_}).permute({0, 2, 1, 3});
  };
  auto q_rows = query->forward(hidden);
  auto k_rows = key->forward(hidden);
  auto v_rows = value->forward(hidden);
  if (kernels::use_fused(q_rows))  // LIGHTPEFT_KERNELS=fused on CUDA: the same math, one kernel
    return kernels::masked_attention(q_rows, k_rows, v_rows, additive_mask, head_mask, num_heads_,
                                     dropout->options.p(), dropout->is_training());
  return grouped_attention(split(q_rows), split(k_rows), split(v_rows), additive_mask, head_mask,
                           /*heads_per_unit=*/1, 1.0 / std::sqrt(static_cast<double>(head_size_)), dropout);
}

ResidualOutputImpl::ResidualOutputImpl(const ModelConfig& c, int64_t in_features) {
  register_linear(*this, "dense", &dense, std::make_shared<DenseImpl>(in_features, c.hidden_size));
  LayerNorm = register_module(
      "LayerNorm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  dropout = register_module("dropout", Dropout(c.hidden_dropout_prob));
}

torch::Tensor ResidualOutputImpl::forward(const torch::Tensor& x, const torch::Tensor& residual) {
  return LayerNorm(dropout(dense->forward(x)) + residual);
}

AttentionImpl::AttentionImpl(const ModelConfig& c, int64_t num_heads) {
  self = register_module("self", SelfAttention(c, num_heads));
  output = register_module("output", ResidualOutput(c, num_heads * c.head_size()));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                                     const torch::Tensor& head_mask) {
  return output(self(hidden, additive_mask, head_mask), hidden);
}

}  // namespace lightpeft
