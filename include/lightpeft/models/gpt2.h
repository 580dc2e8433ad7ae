#pragma once
// GPT-2 as HF's modeling_gpt2.py: GPT2Model ("wte", "wpe", "drop", "h.<i>", "ln_f") with pre-LN
// blocks ("ln_1"; "attn": the fused c_attn (q, k and v in one Conv1D) and c_proj; "ln_2"; "mlp":
// c_fc and c_proj). Conv1D weights are stored (in, out): Dense with fan_in_fan_out, and LoRA on them
// follows HF PEFT's fan_in_fan_out. Heads: causal LM ("lm_head", tied to wte) and sequence
// classification ("score" on the last token). An attention unit (head) spans three row slices of
// c_attn (its q, k and v parts) and columns of attn.c_proj.
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

class Gpt2AttentionImpl : public torch::nn::Module, public LinearHost {
 public:
  Gpt2AttentionImpl(const ModelConfig& config, int64_t heads);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_mask,
                     const at::Tensor& head_mask, at::Tensor* cached_keys, at::Tensor* cached_values);
  int64_t heads() const { return heads_; }
  int64_t head_size() const { return head_size_; }
  void set_heads(int64_t heads) { heads_ = heads; }

  LinearPtr c_attn, c_proj;
  Dropout attn_dropout{nullptr}, resid_dropout{nullptr};

 private:
  int64_t heads_, head_size_;
};
TORCH_MODULE(Gpt2Attention);

class Gpt2MlpImpl : public torch::nn::Module, public LinearHost {
 public:
  Gpt2MlpImpl(const ModelConfig& config, int64_t inner);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& neuron_mask = {});
  LinearPtr c_fc, c_proj;
  Dropout dropout{nullptr};

 private:
  std::string activation_;
};
TORCH_MODULE(Gpt2Mlp);

class Gpt2BlockImpl : public torch::nn::Module, public PrunableLayer {
 public:
  Gpt2BlockImpl(const ModelConfig& config, int64_t layer_index);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& additive_mask, const LayerMasks& masks,
                     at::Tensor* cached_keys, at::Tensor* cached_values);

  UnitStructure attention_units() const override;
  UnitStructure mlp_neurons() const override;  // c_fc outputs, mlp.c_proj inputs
  void keep_attention_units(const std::vector<int64_t>& kept) override;
  void keep_mlp_neurons(const std::vector<int64_t>& kept) override;

  torch::nn::LayerNorm ln_1{nullptr};
  Gpt2Attention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  Gpt2Mlp mlp{nullptr};
};
TORCH_MODULE(Gpt2Block);

class Gpt2ModelImpl : public BackboneImpl {
 public:
  explicit Gpt2ModelImpl(const ModelConfig& config);
  BackboneOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                         bool output_hidden_states = false) override;
  int64_t num_layers() const override { return static_cast<int64_t>(blocks_.size()); }
  PrunableLayer& layer(int64_t index) const override { return *blocks_.at(index).ptr(); }
  torch::nn::Embedding input_embeddings() const override { return wte; }
  bool is_decoder() const override { return true; }

  torch::nn::Embedding wte{nullptr}, wpe{nullptr};
  Dropout drop{nullptr};
  torch::nn::ModuleList h{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};

 private:
  std::vector<Gpt2Block> blocks_;
};
TORCH_MODULE(Gpt2Model);

}  // namespace lightpeft
