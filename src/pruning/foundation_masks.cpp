#include "lightpeft/pruning/foundation_masks.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

LayerEarlyMasksImpl::LayerEarlyMasksImpl(int64_t num_heads, int64_t num_neurons) {
  LP_CHECK(num_heads >= 0 && num_neurons >= 0, "FoundationMasks: negative size (", num_heads,
           " heads, ", num_neurons, " neurons)");
  early_attn_mask = register_parameter("early_attn_mask", at::ones({1, num_heads, 1, 1}));
  early_ffn_mask = register_parameter("early_ffn_mask", at::ones({1, num_neurons}));
}

FoundationMasksImpl::FoundationMasksImpl(const ModelConfig& config)
    : FoundationMasksImpl(config.attention_units_per_layer, config.intermediate_per_layer) {}

FoundationMasksImpl::FoundationMasksImpl(const std::vector<int64_t>& heads,
                                         const std::vector<int64_t>& neurons) {
  LP_CHECK(heads.size() == neurons.size(), "FoundationMasks: ", heads.size(),
           " head counts but ", neurons.size(), " FFN widths");
  layer = register_module("layer", torch::nn::ModuleList());
  for (size_t l = 0; l < heads.size(); ++l) {
    layers_.push_back(LayerEarlyMasks(heads[l], neurons[l]));
    layer->push_back(layers_.back());
  }
}

std::vector<LayerMasks> FoundationMasksImpl::layer_masks() const {
  std::vector<LayerMasks> out;
  out.reserve(layers_.size());
  for (const auto& l : layers_) out.push_back({l->early_attn_mask, l->early_ffn_mask});
  return out;
}

torch::Tensor FoundationMasksImpl::l1_penalty() const {
  LP_CHECK(!layers_.empty(), "FoundationMasks::l1_penalty: no layers");
  torch::Tensor total;
  for (const auto& l : layers_) {
    auto term = at::abs(l->early_attn_mask).sum() + at::abs(l->early_ffn_mask).sum();
    total = total.defined() ? total + term : term;
  }
  return total;
}

void FoundationMasksImpl::reset() {
  torch::NoGradGuard no_grad;
  for (auto& l : layers_) {
    l->early_attn_mask.fill_(1.0);
    l->early_ffn_mask.fill_(1.0);
  }
}

void FoundationMasksImpl::set_trainable(bool trainable) {
  for (auto& l : layers_) {
    l->early_attn_mask.set_requires_grad(trainable);
    l->early_ffn_mask.set_requires_grad(trainable);
  }
}

std::vector<torch::Tensor> FoundationMasksImpl::head_mask_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& l : layers_) out.push_back(l->early_attn_mask);
  return out;
}

std::vector<torch::Tensor> FoundationMasksImpl::neuron_mask_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& l : layers_) out.push_back(l->early_ffn_mask);
  return out;
}

std::vector<MaskParameterGroup> FoundationMasksImpl::parameter_groups(
    double head_lr_multiplier, double neuron_lr_multiplier) const {
  LP_CHECK(head_lr_multiplier >= 0.0 && neuron_lr_multiplier >= 0.0,
           "FoundationMasks: mask learning-rate multipliers must be >= 0, got ", head_lr_multiplier,
           " and ", neuron_lr_multiplier);
  return {{"early_attn_mask", head_mask_parameters(), head_lr_multiplier, 0.0},
          {"early_ffn_mask", neuron_mask_parameters(), neuron_lr_multiplier, 0.0}};
}

}  // namespace lightpeft
