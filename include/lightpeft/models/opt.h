#pragma once
// OPT as HF's modeling_opt.py (the Light-PEFT paper's decoder): OPTModel ("decoder": embed_tokens,
// embed_positions with OPT's offset of 2, optional project_in / project_out, layers.<i>,
// final_layer_norm) with decoder layers ("self_attn": q_proj, k_proj, v_proj, out_proj;
// self_attn_layer_norm; fc1, fc2; final_layer_norm; pre- or post-LayerNorm by do_layer_norm_before).
// Heads: causal LM ("lm_head", tied to embed_tokens by default) and sequence classification
// ("score" on the last token). Light-PEFT's attention unit is a head, its neurons fc1's.
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "lightpeft/models/backbone.h"
#include "lightpeft/models/dropout.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

class OptAttentionImpl : public torch::nn::Module, public LinearHost {
 public:
  OptAttentionImpl(const ModelConfig& config, int64_t heads);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_mask,
                     const at::Tensor& head_mask, at::Tensor* cached_keys, at::Tensor* cached_values);
  int64_t heads() const { return heads_; }
  int64_t head_size() const { return head_size_; }
  void set_heads(int64_t heads) { heads_ = heads; }

  LinearPtr k_proj, v_proj, q_proj, out_proj;
  Dropout dropout{nullptr};

 private:
  int64_t heads_, head_size_;
};
TORCH_MODULE(OptAttention);

class OptDecoderLayerImpl : public torch::nn::Module, public LinearHost, public PrunableLayer {
 public:
  OptDecoderLayerImpl(const ModelConfig& config, int64_t layer_index);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_mask, const LayerMasks& masks,
                     at::Tensor* cached_keys, at::Tensor* cached_values);

  UnitStructure attention_units() const override;  // q/k/v_proj rows, out_proj columns per head
  UnitStructure mlp_neurons() const override;      // fc1 rows, fc2 columns
  void keep_attention_units(const std::vector<int64_t>& kept) override;
  void keep_mlp_neurons(const std::vector<int64_t>& kept) override;

  OptAttention self_attn{nullptr};
  torch::nn::LayerNorm self_attn_layer_norm{nullptr};
  LinearPtr fc1, fc2;
  torch::nn::LayerNorm final_layer_norm{nullptr};
  Dropout dropout{nullptr};

 private:
  bool pre_norm_;
  std::string activation_;
};
TORCH_MODULE(OptDecoderLayer);

class OptDecoderImpl : public torch::nn::Module, public LinearHost {
 public:
  explicit OptDecoderImpl(const ModelConfig& config);
  BackboneOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks,
                         bool output_hidden_states, bool checkpoint = false);

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::Embedding embed_positions{nullptr};  // max_position_embeddings + 2 rows (OPT's offset)
  torch::nn::LayerNorm final_layer_norm{nullptr};  // null for post-LayerNorm OPT (350m)
  LinearPtr project_out, project_in;               // null when word_embed_proj_dim == hidden_size
  torch::nn::ModuleList layers{nullptr};
  std::vector<OptDecoderLayer> layers_;
  Dropout dropout{nullptr};
};
TORCH_MODULE(OptDecoder);

// HF OPTModel: the decoder under "decoder".
class OptModelImpl : public BackboneImpl {
 public:
  explicit OptModelImpl(const ModelConfig& config);
  BackboneOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                         bool output_hidden_states = false) override {
    return decoder->forward(inputs, masks, output_hidden_states, checkpoint_layers());
  }
  int64_t num_layers() const override { return static_cast<int64_t>(decoder->layers_.size()); }
  PrunableLayer& layer(int64_t index) const override { return *decoder->layers_.at(index).ptr(); }
  torch::nn::Embedding input_embeddings() const override { return decoder->embed_tokens; }
  bool is_decoder() const override { return true; }

  OptDecoder decoder{nullptr};
};
TORCH_MODULE(OptModel);

}  // namespace lightpeft
