#include "lightpeft/models/encoder.h"

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/kernels/masked_ffn.h"
#include "lightpeft/models/checkpointing.h"
#include "lightpeft/kernels/activation.h"

namespace lightpeft {

IntermediateImpl::IntermediateImpl(const ModelConfig& c, int64_t intermediate_size)
    : activation_(c.hidden_act) {
  register_linear(*this, "dense", &dense,
                  std::make_shared<DenseImpl>(c.hidden_size, intermediate_size));
}

torch::Tensor IntermediateImpl::forward(const torch::Tensor& x) {
  return apply_activation(activation_, dense->forward(x));
}

TransformerLayerImpl::TransformerLayerImpl(const ModelConfig& c, int64_t l) {
  attention = register_module("attention", Attention(c, c.attention_units(l)));
  intermediate = register_module("intermediate", Intermediate(c, c.intermediate(l)));
  output = register_module("output", ResidualOutput(c, c.intermediate(l)));
}

torch::Tensor TransformerLayerImpl::forward(const torch::Tensor& hidden,
                                            const torch::Tensor& additive_mask,
                                            const LayerMasks& masks) {
  auto attn = attention(hidden, additive_mask, masks.head);
  torch::Tensor inter;
  if (masks.neuron.defined() && kernels::use_fused(attn)) {  // LIGHTPEFT_KERNELS=fused on CUDA
    inter = kernels::masked_activation(intermediate->dense->forward(attn), masks.neuron,
                                       intermediate->activation());
  } else {
    inter = intermediate(attn);
    if (masks.neuron.defined()) inter = inter * masks.neuron;
  }
  return output(inter, attn);
}

UnitStructure TransformerLayerImpl::attention_units() const {
  const int64_t d = attention->self->head_size();
  return {attention->self->num_heads(),
          {{"attention.self.query", 0, 0, d},
           {"attention.self.key", 0, 0, d},
           {"attention.self.value", 0, 0, d},
           {"attention.output.dense", 1, 0, d}}};
}

UnitStructure TransformerLayerImpl::mlp_neurons() const {
  return {intermediate->dense->out_features(),
          {{"intermediate.dense", 0, 0, 1}, {"output.dense", 1, 0, 1}}};
}

void TransformerLayerImpl::keep_attention_units(const std::vector<int64_t>& kept) {
  prune_unit_slices(*this, attention_units(), kept, "heads");
  attention->self->set_num_heads(static_cast<int64_t>(kept.size()));
}

void TransformerLayerImpl::keep_mlp_neurons(const std::vector<int64_t>& kept) {
  prune_unit_slices(*this, mlp_neurons(), kept, "FFN neurons");
}

EncoderImpl::EncoderImpl(const ModelConfig& c) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    layers_.push_back(TransformerLayer(c, l));
    layer->push_back(layers_.back());
  }
}

EncoderOutput EncoderImpl::forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                                   const std::vector<LayerMasks>& masks, bool output_hidden_states,
                                   bool checkpoint) {
  LP_CHECK(masks.empty() || masks.size() == layers_.size(), "Encoder: got ", masks.size(),
           " layer masks for ", layers_.size(), " layers");
  EncoderOutput out;
  auto h = hidden;
  if (output_hidden_states) out.hidden_states.push_back(h);
  for (size_t l = 0; l < layers_.size(); ++l) {
    const LayerMasks m = masks.empty() ? LayerMasks{} : masks[l];
    auto layer = layers_[l].ptr();
    h = checkpoint ? checkpointed([layer, additive_mask, m](const torch::Tensor& x) { return layer->forward(x, additive_mask, m); }, h)
                   : layer->forward(h, additive_mask, m);
    if (output_hidden_states) out.hidden_states.push_back(h);
  }
  out.last_hidden_state = h;
  return out;
}

}  // namespace lightpeft
