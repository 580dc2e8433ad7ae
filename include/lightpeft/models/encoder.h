#pragma once
// A post-LayerNorm transformer layer (HF BertLayer: "attention", "intermediate", "output") and the
// stack of them (HF BertEncoder: "layer.0", "layer.1", ...). Shared by BERT and RoBERTa.
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include "lightpeft/models/attention.h"
#include "lightpeft/models/feed_forward.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

// Optional per-layer masks of Light-PEFT's estimate stage; undefined tensors mean "no mask".
struct LayerMasks {
  torch::Tensor head;    // (1, H, 1, 1): multiplies attention probabilities
  torch::Tensor neuron;  // (1, d_ff): multiplies the FFN activation
};

class TransformerLayerImpl : public torch::nn::Module {
 public:
  TransformerLayerImpl(const ModelConfig& config, int64_t layer_index);
  torch::Tensor forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        const LayerMasks& masks = {});
  // Physically keeps only these FFN neurons: rows of intermediate.dense, columns of output.dense.
  void keep_neurons(const std::vector<int64_t>& neurons);
  int64_t num_neurons() const;

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
  // masks: empty or one entry per layer.
  EncoderOutput forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                        const std::vector<LayerMasks>& masks = {}, bool output_hidden_states = false);
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  TransformerLayer layer_at(int64_t i) const { return layers_.at(i); }

  torch::nn::ModuleList layer{nullptr};  // registered as "layer" -> keys "layer.<i>...."

 private:
  std::vector<TransformerLayer> layers_;
};
TORCH_MODULE(Encoder);

// HF's extended attention mask: (B, T) of 1/0 -> (B, 1, 1, T) of 0 / dtype-min, in `dtype`.
torch::Tensor additive_attention_mask(const torch::Tensor& attention_mask, c10::ScalarType dtype);

}  // namespace lightpeft
