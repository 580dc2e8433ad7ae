#pragma once
// Light-PEFT's masked early pruning of the foundation model (spec 1.1): one scalar per attention
// head and one per FFN neuron in every layer, multiplied into the forward pass and trained with an
// L1 penalty during the estimate stage. Their final (signed) values rank heads and neurons.
//
// The masks live beside the model, not inside it: the model's forward takes them as
// std::vector<LayerMasks> (encoder.h), so a model without masks has no mask parameters at all and a
// pruned model's checkpoint keeps HF's plain keys. Parameter names are the official code's:
// "layer.<i>.early_attn_mask" (1, H, 1, 1) and "layer.<i>.early_ffn_mask" (1, d_ff).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include "lightpeft/models/model_io.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

// The two masks of one transformer layer. A layer with 0 heads (or 0 neurons) has an empty mask.
class LayerEarlyMasksImpl : public torch::nn::Module {
 public:
  LayerEarlyMasksImpl(int64_t num_heads, int64_t num_neurons);

  // (1, H, 1, 1): multiplies the attention probabilities after softmax and dropout (HeadMask).
  torch::Tensor& head_mask() { return early_attn_mask; }
  // (1, d_ff): multiplies the FFN activation (NeuronMask).
  torch::Tensor& neuron_mask() { return early_ffn_mask; }

  torch::Tensor early_attn_mask;
  torch::Tensor early_ffn_mask;
};
TORCH_MODULE(LayerEarlyMasks);

// A group of mask parameters for the trainer's AdamW: lr = base_lr * lr_multiplier, no weight
// decay (the official MaskTrainer gives masks their own groups; spec 1.1).
struct MaskParameterGroup {
  std::string name;  // "early_attn_mask" | "early_ffn_mask"
  std::vector<torch::Tensor> parameters;
  double lr_multiplier = 1.0;
  double weight_decay = 0.0;
};

class FoundationMasksImpl : public torch::nn::Module {
 public:
  // One head mask and one neuron mask per layer, sized by the config's per-layer counts (so masks
  // fit an already pruned model too). All start at 1.0 (fp32) and are trainable.
  explicit FoundationMasksImpl(const ModelConfig& config);
  FoundationMasksImpl(const std::vector<int64_t>& heads_per_layer,
                      const std::vector<int64_t>& neurons_per_layer);

  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  LayerEarlyMasks layer_at(int64_t i) const { return layers_.at(i); }
  torch::Tensor& head_mask(int64_t layer) { return layers_.at(layer)->early_attn_mask; }
  torch::Tensor& neuron_mask(int64_t layer) { return layers_.at(layer)->early_ffn_mask; }

  // What SequenceClassifierImpl::forward takes: the mask tensors themselves (gradients flow).
  std::vector<LayerMasks> layer_masks() const;
  // sum |m| over every head and neuron mask of every layer: plain, unnormalised (the official
  // MaskTrainer.compute_loss); the trainer adds lambda * l1_penalty() to the loss.
  torch::Tensor l1_penalty() const;

  // All masks back to 1.0.
  void reset();
  // requires_grad on every mask: true in the estimate stage only.
  void set_trainable(bool trainable);

  std::vector<torch::Tensor> head_mask_parameters() const;
  std::vector<torch::Tensor> neuron_mask_parameters() const;
  // The two optimiser groups (head masks, neuron masks) with the given lr multipliers.
  std::vector<MaskParameterGroup> parameter_groups(double head_lr_multiplier = 1.0,
                                                   double neuron_lr_multiplier = 1.0) const;

  torch::nn::ModuleList layer{nullptr};  // registered as "layer" -> "layer.<i>.early_attn_mask"

 private:
  std::vector<LayerEarlyMasks> layers_;
};
TORCH_MODULE(FoundationMasks);

}  // namespace lightpeft
