#pragma once
// BERT's post-LayerNorm transformer layer (HF BertLayer: "attention", "intermediate", "output") and
// the stack of them (HF BertEncoder: "layer.0", "layer.1", ...). Shared by BERT and RoBERTa.
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include "lightpeft/models/attention.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/models/model_io.h"
#include "lightpeft/models/prunable.h"

namespace lightpeft {

// The MLP's first half, HF BertIntermediate ("intermediate": dense + activation). The second half
// is a ResidualOutput registered as "output" in the layer.
class IntermediateImpl : public torch::nn::Module, public LinearHost {
 public:
  IntermediateImpl(const ModelConfig& config, int64_t intermediate_size);
  torch::Tensor forward(const torch::Tensor& x);
  const std::string& activation() const { return activation_; }  // HF hidden_act

  LinearPtr dense;

 private:
  std::string activation_;
};
TORCH_MODULE(Intermediate);

class TransformerLayerImpl : public torch::nn::Module, public PrunableLayer {
 public:
  TransformerLayerImpl(const ModelConfig& config, int64_t layer_index);
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        const LayerMasks& masks = {});

  // A unit is a head: its rows of query/key/value and columns of attention.output.dense.
  UnitStructure attention_units() const override;
  // A neuron: its row of intermediate.dense and column of output.dense.
  UnitStructure mlp_neurons() const override;
  void keep_attention_units(const std::vector<int64_t>& kept) override;
  void keep_mlp_neurons(const std::vector<int64_t>& kept) override;

  Attention attention{nullptr};
  Intermediate intermediate{nullptr};
  ResidualOutput output{nullptr};
};
TORCH_MODULE(TransformerLayer);

struct EncoderOutput {
  torch::Tensor last_hidden_state;           // (B, T, hidden)
  std::vector<torch::Tensor> hidden_states;  // embeddings + each layer, when requested
};

class EncoderImpl : public torch::nn::Module {
 public:
  explicit EncoderImpl(const ModelConfig& config);
  // masks: empty or one entry per layer. checkpoint: recompute each layer in backward.
  EncoderOutput forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        const std::vector<LayerMasks>& masks = {}, bool output_hidden_states = false,
                        bool checkpoint = false);
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  TransformerLayer layer_at(int64_t i) const { return layers_.at(i); }

  torch::nn::ModuleList layer{nullptr};  // registered as "layer" -> keys "layer.<i>...."

 private:
  std::vector<TransformerLayer> layers_;
};
TORCH_MODULE(Encoder);

}  // namespace lightpeft
