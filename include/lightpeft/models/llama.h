#pragma once
// The LLaMA family as HF's modeling_llama.py (SmolLM2, TinyLlama, LLaMA 2/3, Mistral-style
// configs): LlamaModel ("embed_tokens", "layers.<i>", "norm") with pre-RMSNorm decoder layers
// ("self_attn": q_proj, k_proj, v_proj, o_proj with rotary position embeddings and grouped-query
// attention; "mlp": SwiGLU gate_proj, up_proj, down_proj; "input_layernorm",
// "post_attention_layernorm"). Heads: causal LM ("lm_head", or tied to embed_tokens) and sequence
// classification ("score" on the last token). Light-PEFT's attention unit is a KV group.
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>

#include "lightpeft/models/backbone.h"
#include "lightpeft/models/dropout.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/models/norms.h"

namespace lightpeft {

// Rotary position embedding tables (HF LlamaRotaryEmbedding): cos and sin (B, T, head_dim) of the
// given positions, from inv_freq with the config's rope scaling (default, linear, llama3).
class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(const ModelConfig& config);
  std::pair<at::Tensor, at::Tensor> cos_sin(const at::Tensor& position_ids, c10::ScalarType dtype) const;
  const at::Tensor& inv_freq() const { return inv_freq_; }

 private:
  at::Tensor inv_freq_;  // (head_dim / 2) float32, CPU; moved to the positions' device on use
};

class LlamaAttentionImpl : public torch::nn::Module, public LinearHost {
 public:
  LlamaAttentionImpl(const ModelConfig& config, int64_t units);
  // hidden (B, T, hidden); cos/sin of the positions; additive_mask (B, 1, T, S); unit_mask
  // (1, U, 1, 1) or undefined; cache: this layer's keys/values before the call (replaced by the
  // extended ones) or null.
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& additive_mask, const at::Tensor& unit_mask,
                     at::Tensor* cached_keys, at::Tensor* cached_values);
  int64_t units() const { return units_; }
  int64_t heads_per_unit() const { return heads_per_unit_; }
  int64_t head_size() const { return head_size_; }
  void set_units(int64_t units) { units_ = units; }

  LinearPtr q_proj, k_proj, v_proj, o_proj;
  Dropout attention_dropout{nullptr};  // not a module in HF (no keys either way)

 private:
  int64_t units_, heads_per_unit_, head_size_;
};
TORCH_MODULE(LlamaAttention);

class LlamaMlpImpl : public torch::nn::Module, public LinearHost {
 public:
  LlamaMlpImpl(const ModelConfig& config, int64_t intermediate_size);
  // down(act(gate(x)) * up(x)); neuron_mask (1, d_ff) multiplies act(gate(x)) * up(x).
  at::Tensor forward(const at::Tensor& x, const at::Tensor& neuron_mask = {});
  LinearPtr gate_proj, up_proj, down_proj;

 private:
  std::string activation_;
};
TORCH_MODULE(LlamaMlp);

class LlamaDecoderLayerImpl : public torch::nn::Module, public PrunableLayer {
 public:
  LlamaDecoderLayerImpl(const ModelConfig& config, int64_t layer_index);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& additive_mask, const LayerMasks& masks,
                     at::Tensor* cached_keys, at::Tensor* cached_values);

  // A unit is a KV group: its key and value heads (k_proj, v_proj rows), its query heads (q_proj
  // rows) and their o_proj columns. A neuron: gate_proj and up_proj rows, down_proj column.
  UnitStructure attention_units() const override;
  UnitStructure mlp_neurons() const override;
  void keep_attention_units(const std::vector<int64_t>& kept) override;
  void keep_mlp_neurons(const std::vector<int64_t>& kept) override;

  LlamaAttention self_attn{nullptr};
  LlamaMlp mlp{nullptr};
  RmsNorm input_layernorm{nullptr};
  RmsNorm post_attention_layernorm{nullptr};
};
TORCH_MODULE(LlamaDecoderLayer);

class LlamaModelImpl : public BackboneImpl {
 public:
  explicit LlamaModelImpl(const ModelConfig& config);
  // Positions default to past_length .. past_length + T - 1 (HF's cache_position); generation
  // with left padding passes its own.
  BackboneOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                         bool output_hidden_states = false) override;
  int64_t num_layers() const override { return static_cast<int64_t>(layers_.size()); }
  PrunableLayer& layer(int64_t index) const override { return *layers_.at(index).ptr(); }
  torch::nn::Embedding input_embeddings() const override { return embed_tokens; }
  bool is_decoder() const override { return true; }

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RmsNorm norm{nullptr};

 private:
  std::vector<LlamaDecoderLayer> layers_;
  RotaryEmbedding rotary_;
};
TORCH_MODULE(LlamaModel);

// Position ids that skip padding (cumsum of the attention mask - 1, padding at 1), as HF's
// generate builds them for left-padded batches.
at::Tensor positions_from_attention_mask(const at::Tensor& attention_mask);

}  // namespace lightpeft
