#include "lightpeft/models/encoder.h"

#include <limits>

#include <ATen/ops/tensor.h>
#include <c10/util/Half.h>
#include <c10/util/BFloat16.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/kernels/masked_ffn.h"

namespace lightpeft {

TransformerLayerImpl::TransformerLayerImpl(const ModelConfig& c, int64_t l) {
  attention = register_module("attention", Attention(c, c.heads(l)));
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

int64_t TransformerLayerImpl::num_neurons() const {
  return intermediate->dense->out_features();
}

void TransformerLayerImpl::keep_neurons(const std::vector<int64_t>& neurons) {
  const int64_t n = num_neurons();
  for (int64_t i : neurons)
    LP_CHECK(i >= 0 && i < n, "keep_neurons: neuron ", i, " out of range [0, ", n, ")");
  auto idx = at::tensor(neurons, at::kLong);
  intermediate->dense->prune(idx, 0);
  output->dense->prune(idx, 1);
}

EncoderImpl::EncoderImpl(const ModelConfig& c) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    layers_.push_back(TransformerLayer(c, l));
    layer->push_back(layers_.back());
  }
}

EncoderOutput EncoderImpl::forward(const torch::Tensor& hidden, const torch::Tensor& additive_mask,
                                   const std::vector<LayerMasks>& masks,
                                   bool output_hidden_states) {
  LP_CHECK(masks.empty() || masks.size() == layers_.size(), "Encoder: got ", masks.size(),
           " layer masks for ", layers_.size(), " layers");
  EncoderOutput out;
  auto h = hidden;
  if (output_hidden_states) out.hidden_states.push_back(h);
  for (size_t l = 0; l < layers_.size(); ++l) {
    h = masks.empty() ? layers_[l](h, additive_mask) : layers_[l](h, additive_mask, masks[l]);
    if (output_hidden_states) out.hidden_states.push_back(h);
  }
  out.last_hidden_state = h;
  return out;
}

torch::Tensor additive_attention_mask(const torch::Tensor& attention_mask, c10::ScalarType dtype) {
  LP_CHECK(attention_mask.dim() == 2, "attention_mask: expected shape (batch, seq), got ",
           attention_mask.sizes());
  double lowest = std::numeric_limits<float>::lowest();
  if (dtype == at::kDouble) lowest = std::numeric_limits<double>::lowest();
  if (dtype == at::kHalf) lowest = static_cast<double>(std::numeric_limits<c10::Half>::lowest());
  if (dtype == at::kBFloat16)
    lowest = static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
  auto keep = attention_mask.to(dtype).unsqueeze(1).unsqueeze(2);  // (B, 1, 1, T)
  return (1.0 - keep) * lowest;
}

}  // namespace lightpeft
