#include "lightpeft/models/opt.h"

#include <cmath>

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/ones.h>

#include "init_weights.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/activation.h"
#include "lightpeft/models/attention_core.h"
#include "lightpeft/models/attention_mask.h"
#include "lightpeft/models/decoder_layers.h"
#include "lightpeft/models/family.h"

namespace lightpeft {
namespace {

constexpr int64_t kPositionOffset = 2;  // OPT's learned positions start at row 2

torch::nn::LayerNorm layer_norm(const ModelConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

}  // namespace

OptAttentionImpl::OptAttentionImpl(const ModelConfig& c, int64_t heads)
    : heads_(heads), head_size_(c.head_size()) {
  const int64_t all = heads * head_size_;
  const bool bias = c.attention_bias;
  register_linear(*this, "k_proj", &k_proj, std::make_shared<DenseImpl>(c.hidden_size, all, bias));
  register_linear(*this, "v_proj", &v_proj, std::make_shared<DenseImpl>(c.hidden_size, all, bias));
  register_linear(*this, "q_proj", &q_proj, std::make_shared<DenseImpl>(c.hidden_size, all, bias));
  register_linear(*this, "out_proj", &out_proj, std::make_shared<DenseImpl>(all, c.hidden_size, bias));
  dropout = register_module("dropout", Dropout(c.attention_probs_dropout_prob));
}

at::Tensor OptAttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& additive_mask,
                                     const at::Tensor& head_mask, at::Tensor* cached_keys,
                                     at::Tensor* cached_values) {
  const int64_t batch = hidden.size(0), seq = hidden.size(1);
  auto heads = [&](const at::Tensor& x) { return x.view({batch, seq, -1, head_size_}).transpose(1, 2); };
  // HF scales the queries, not the scores.
  auto q = heads(q_proj->forward(hidden) * (1.0 / std::sqrt(static_cast<double>(head_size_))));
  auto k = heads(k_proj->forward(hidden));
  auto v = heads(v_proj->forward(hidden));
  extend_kv_cache(k, v, cached_keys, cached_values);
  return out_proj->forward(grouped_attention(q, k, v, additive_mask, head_mask, 1, 1.0, dropout));
}

OptDecoderLayerImpl::OptDecoderLayerImpl(const ModelConfig& c, int64_t l)
    : pre_norm_(c.do_layer_norm_before), activation_(c.hidden_act) {
  self_attn = register_module("self_attn", OptAttention(c, c.attention_units(l)));
  self_attn_layer_norm = register_module("self_attn_layer_norm", layer_norm(c));
  register_linear(*this, "fc1", &fc1, std::make_shared<DenseImpl>(c.hidden_size, c.intermediate(l), c.mlp_bias));
  register_linear(*this, "fc2", &fc2, std::make_shared<DenseImpl>(c.intermediate(l), c.hidden_size, c.mlp_bias));
  final_layer_norm = register_module("final_layer_norm", layer_norm(c));
  dropout = register_module("dropout", Dropout(c.hidden_dropout_prob));
}

at::Tensor OptDecoderLayerImpl::forward(const at::Tensor& hidden, const at::Tensor& additive_mask,
                                        const LayerMasks& masks, at::Tensor* cached_keys,
                                        at::Tensor* cached_values) {
  auto h = pre_norm_ ? self_attn_layer_norm(hidden) : hidden;
  h = hidden + dropout(self_attn->forward(h, additive_mask, masks.head, cached_keys, cached_values));
  if (!pre_norm_) h = self_attn_layer_norm(h);
  auto x = pre_norm_ ? final_layer_norm(h) : h;
  auto inner = apply_activation(activation_, fc1->forward(x));
  if (masks.neuron.defined()) inner = inner * masks.neuron;
  h = h + dropout(fc2->forward(inner));
  return pre_norm_ ? h : final_layer_norm(h);
}

UnitStructure OptDecoderLayerImpl::attention_units() const {
  const int64_t d = self_attn->head_size();
  return {self_attn->heads(),
          {{"self_attn.q_proj", 0, 0, d},
           {"self_attn.k_proj", 0, 0, d},
           {"self_attn.v_proj", 0, 0, d},
           {"self_attn.out_proj", 1, 0, d}}};
}

UnitStructure OptDecoderLayerImpl::mlp_neurons() const {
  return {fc1->out_features(), {{"fc1", 0, 0, 1}, {"fc2", 1, 0, 1}}};
}

void OptDecoderLayerImpl::keep_attention_units(const std::vector<int64_t>& kept) {
  prune_unit_slices(*this, attention_units(), kept, "heads");
  self_attn->set_heads(static_cast<int64_t>(kept.size()));
}

void OptDecoderLayerImpl::keep_mlp_neurons(const std::vector<int64_t>& kept) {
  prune_unit_slices(*this, mlp_neurons(), kept, "MLP neurons");
}

OptDecoderImpl::OptDecoderImpl(const ModelConfig& c) {
  const int64_t proj = c.word_embed_proj_dim > 0 ? c.word_embed_proj_dim : c.hidden_size;
  auto emb = torch::nn::EmbeddingOptions(c.vocab_size, proj);
  if (c.pad_token_id >= 0) emb.padding_idx(c.pad_token_id);
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(emb));
  embed_positions = register_module(
      "embed_positions", torch::nn::Embedding(c.max_position_embeddings + kPositionOffset, c.hidden_size));
  if (proj != c.hidden_size) {
    register_linear(*this, "project_out", &project_out, std::make_shared<DenseImpl>(c.hidden_size, proj, false));
    register_linear(*this, "project_in", &project_in, std::make_shared<DenseImpl>(proj, c.hidden_size, false));
  }
  if (c.do_layer_norm_before) final_layer_norm = register_module("final_layer_norm", layer_norm(c));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    layers_.push_back(OptDecoderLayer(c, l));
    layers->push_back(layers_.back());
  }
  dropout = register_module("dropout", Dropout(c.hidden_dropout_prob));
}

BackboneOutput OptDecoderImpl::forward(const ModelInputs& in, const std::vector<LayerMasks>& masks,
                                       bool output_hidden_states, bool checkpoint) {
  const DecoderStep step = begin_decoder_step(in, masks, layers_.size(), "OPTDecoder");
  const int64_t batch = step.batch, seq = step.seq, past = step.past;
  auto attention_mask = in.attention_mask.defined()
                            ? in.attention_mask.to(at::kLong)
                            : at::ones({batch, past + seq}, in.input_ids.options().dtype(at::kLong));
  // HF: positions count the tokens (padding at -1), sliced to the new ones; + OPT's offset.
  auto positions = in.position_ids.defined()   ? in.position_ids
                   : in.segment_ids.defined() ? default_positions(in, past)
                                              : (at::cumsum(attention_mask, 1) * attention_mask - 1).slice(1, past);
  auto h = embed_tokens(in.input_ids);
  if (project_in) h = project_in->forward(h);
  // No dropout here: HF's OPTDecoder applies none to the embeddings (the layers do).
  h = h + embed_positions(positions + kPositionOffset);
  auto mask = causal_attention_mask(attention_mask, batch, seq, past, h.scalar_type(), h.device(), in.segment_ids);
  BackboneOutput out;
  if (output_hidden_states) out.hidden_states.push_back(h);
  h = run_decoder_layers(step, h, masks, layers_.size(), checkpoint,
                         output_hidden_states ? &out.hidden_states : nullptr,
                         [layers = layers_, mask](size_t l, const at::Tensor& x, const LayerMasks& m, at::Tensor* k,
                                                  at::Tensor* v) mutable { return layers[l]->forward(x, mask, m, k, v); });
  if (final_layer_norm) h = final_layer_norm(h);
  if (project_out) h = project_out->forward(h);
  out.last_hidden_state = h;
  // HF reports the decoder's output (after final_layer_norm and project_out) as the last hidden state.
  if (output_hidden_states) out.hidden_states.back() = out.last_hidden_state;
  return out;
}

OptModelImpl::OptModelImpl(const ModelConfig& c) { decoder = register_module("decoder", OptDecoder(c)); }

ModelFamily opt_family() {
  ModelFamily f;
  f.model_type = "opt";
  f.base_model_prefix = "model";
  f.heads = {HeadKind::causal_lm, HeadKind::sequence_classification};
  f.default_lora_targets = {"q_proj", "v_proj"};
  f.all_linear_targets = {"q_proj", "k_proj", "v_proj", "out_proj", "fc1", "fc2"};
  f.houlsby_adapter_targets = {"out_proj", "fc2"};
  f.pfeiffer_adapter_regex = R"(.*\.fc2)";
  f.make_backbone = [](const ModelConfig& c, HeadKind) {
    return std::static_pointer_cast<BackboneImpl>(std::make_shared<OptModelImpl>(c));
  };
  f.make_head = [](torch::nn::Module& owner, const ModelConfig& c, HeadKind head,
                   BackboneImpl& backbone) -> std::unique_ptr<Head> {
    const int64_t out_dim = c.word_embed_proj_dim > 0 ? c.word_embed_proj_dim : c.hidden_size;
    if (head == HeadKind::causal_lm)
      return std::make_unique<CausalLmHead>(owner, c, backbone.input_embeddings(), out_dim);
    return std::make_unique<LastTokenScoreHead>(owner, c, out_dim);
  };
  f.init_weights = [](torch::nn::Module& m, const ModelConfig& c) {
    models_detail::init_normal_weights(m, c.initializer_range);
  };
  f.architecture = [](HeadKind head) {
    return std::string(head == HeadKind::causal_lm ? "OPTForCausalLM" : "OPTForSequenceClassification");
  };
  return f;
}

}  // namespace lightpeft
