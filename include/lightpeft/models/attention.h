#pragma once
// BERT's multi-head self-attention (HF BertAttention, shared by RoBERTa): "attention.self" (query,
// key, value) and "attention.output" (dense, LayerNorm, dropout, residual). The number of heads is
// per layer and may be zero (a fully pruned attention block then adds only its output bias).
#include <torch/nn/module.h>
#include <torch/nn/modules/normalization.h>

#include "lightpeft/models/dropout.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

class SelfAttentionImpl : public torch::nn::Module, public LinearHost {
 public:
  SelfAttentionImpl(const ModelConfig& config, int64_t num_heads);
  // hidden (B, T, hidden); additive_mask (B, 1, 1, T) with 0 for tokens and a large negative for
  // padding. head_mask (1, H, 1, 1) or undefined: multiplies the attention probabilities after
  // softmax and dropout (Light-PEFT's head mask, spec 1.1). Returns the context (B, T, H * d).
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        const torch::Tensor& head_mask = {});

  int64_t num_heads() const { return num_heads_; }
  int64_t head_size() const { return head_size_; }
  // After the layer sliced query/key/value to the kept heads (prunable.h).
  void set_num_heads(int64_t heads) { num_heads_ = heads; }

  LinearPtr query, key, value;
  Dropout dropout{nullptr};

 private:
  int64_t num_heads_;
  int64_t head_size_;
};
TORCH_MODULE(SelfAttention);

// dense -> dropout -> LayerNorm(x + residual): HF BertSelfOutput and BertOutput share this shape.
class ResidualOutputImpl : public torch::nn::Module, public LinearHost {
 public:
  ResidualOutputImpl(const ModelConfig& config, int64_t in_features);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& residual);

  LinearPtr dense;
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: the HF key is "LayerNorm"
  Dropout dropout{nullptr};
};
TORCH_MODULE(ResidualOutput);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& config, int64_t num_heads);
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        const torch::Tensor& head_mask = {});

  SelfAttention self{nullptr};  // registered as "self"
  ResidualOutput output{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace lightpeft
