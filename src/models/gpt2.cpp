#include "lightpeft/models/gpt2.h"

#include <cmath>

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>

#include "init_weights.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/activation.h"
#include "lightpeft/models/attention_core.h"
#include "lightpeft/models/attention_mask.h"
#include "lightpeft/models/decoder_layers.h"
#include "lightpeft/models/family.h"

namespace lightpeft {
namespace {

torch::nn::LayerNorm layer_norm(const ModelConfig& c) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps));
}

// HF's Conv1D: y = x W + b with W (in, out).
std::shared_ptr<DenseImpl> conv1d(int64_t in, int64_t out) {
  return std::make_shared<DenseImpl>(in, out, /*bias=*/true, /*fan_in_fan_out=*/true);
}

}  // namespace

Gpt2AttentionImpl::Gpt2AttentionImpl(const ModelConfig& c, int64_t heads)
    : heads_(heads), head_size_(c.head_size()) {
  const int64_t all = heads * head_size_;
  register_linear(*this, "c_attn", &c_attn, conv1d(c.hidden_size, 3 * all));
  register_linear(*this, "c_proj", &c_proj, conv1d(all, c.hidden_size));
  attn_dropout = register_module("attn_dropout", Dropout(c.attention_probs_dropout_prob));
  resid_dropout = register_module("resid_dropout", Dropout(c.hidden_dropout_prob));
}

at::Tensor Gpt2AttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& additive_mask,
                                      const at::Tensor& head_mask, at::Tensor* cached_keys,
                                      at::Tensor* cached_values) {
  const int64_t batch = hidden.size(0), seq = hidden.size(1), all = heads_ * head_size_;
  auto heads = [&](const at::Tensor& x) { return x.view({batch, seq, -1, head_size_}).transpose(1, 2); };
  auto qkv = c_attn->forward(hidden);
  auto q = heads(qkv.narrow(-1, 0, all));
  auto k = heads(qkv.narrow(-1, all, all));
  auto v = heads(qkv.narrow(-1, 2 * all, all));
  extend_kv_cache(k, v, cached_keys, cached_values);
  auto context = grouped_attention(q, k, v, additive_mask, head_mask, 1,
                                   1.0 / std::sqrt(static_cast<double>(head_size_)), attn_dropout);
  return resid_dropout(c_proj->forward(context));
}

Gpt2MlpImpl::Gpt2MlpImpl(const ModelConfig& c, int64_t inner) : activation_(c.hidden_act) {
  register_linear(*this, "c_fc", &c_fc, conv1d(c.hidden_size, inner));
  register_linear(*this, "c_proj", &c_proj, conv1d(inner, c.hidden_size));
  dropout = register_module("dropout", Dropout(c.hidden_dropout_prob));
}

at::Tensor Gpt2MlpImpl::forward(const at::Tensor& x, const at::Tensor& neuron_mask) {
  auto inner = apply_activation(activation_, c_fc->forward(x));
  if (neuron_mask.defined()) inner = inner * neuron_mask;
  return dropout(c_proj->forward(inner));
}

Gpt2BlockImpl::Gpt2BlockImpl(const ModelConfig& c, int64_t l) {
  ln_1 = register_module("ln_1", layer_norm(c));
  attn = register_module("attn", Gpt2Attention(c, c.attention_units(l)));
  ln_2 = register_module("ln_2", layer_norm(c));
  mlp = register_module("mlp", Gpt2Mlp(c, c.intermediate(l)));
}

at::Tensor Gpt2BlockImpl::forward(const at::Tensor& hidden, const at::Tensor& additive_mask,
                                  const LayerMasks& masks, at::Tensor* cached_keys,
                                  at::Tensor* cached_values) {
  auto h = hidden + attn->forward(ln_1(hidden), additive_mask, masks.head, cached_keys, cached_values);
  return h + mlp->forward(ln_2(h), masks.neuron);
}

UnitStructure Gpt2BlockImpl::attention_units() const {
  const int64_t d = attn->head_size(), all = attn->heads() * d;
  return {attn->heads(),
          {{"attn.c_attn", 0, 0, d},
           {"attn.c_attn", 0, all, d},
           {"attn.c_attn", 0, 2 * all, d},
           {"attn.c_proj", 1, 0, d}}};
}

UnitStructure Gpt2BlockImpl::mlp_neurons() const {
  return {mlp->c_fc->out_features(), {{"mlp.c_fc", 0, 0, 1}, {"mlp.c_proj", 1, 0, 1}}};
}

void Gpt2BlockImpl::keep_attention_units(const std::vector<int64_t>& kept) {
  prune_unit_slices(*this, attention_units(), kept, "heads");
  attn->set_heads(static_cast<int64_t>(kept.size()));
}

void Gpt2BlockImpl::keep_mlp_neurons(const std::vector<int64_t>& kept) {
  prune_unit_slices(*this, mlp_neurons(), kept, "MLP neurons");
}

Gpt2ModelImpl::Gpt2ModelImpl(const ModelConfig& c) {
  wte = register_module("wte", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  wpe = register_module("wpe", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  drop = register_module("drop", Dropout(c.hidden_dropout_prob));
  h = register_module("h", torch::nn::ModuleList());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    blocks_.push_back(Gpt2Block(c, l));
    h->push_back(blocks_.back());
  }
  ln_f = register_module("ln_f", layer_norm(c));
}

BackboneOutput Gpt2ModelImpl::forward(const ModelInputs& in, const std::vector<LayerMasks>& masks,
                                      bool output_hidden_states) {
  const DecoderStep step = begin_decoder_step(in, masks, blocks_.size(), "GPT2Model");
  auto positions = default_positions(in, step.past);
  LP_CHECK(positions.numel() == 0 || positions.max().item<int64_t>() < wpe->weight.size(0), "GPT2Model: position ",
           positions.max().item<int64_t>(), " exceeds n_positions ", wpe->weight.size(0));
  auto hidden = drop(wte(in.input_ids) + wpe(positions));
  auto mask = causal_attention_mask(in.attention_mask, step.batch, step.seq, step.past, hidden.scalar_type(),
                                    hidden.device(), in.segment_ids);
  BackboneOutput out;
  if (output_hidden_states) out.hidden_states.push_back(hidden);
  hidden = run_decoder_layers(step, hidden, masks, blocks_.size(), checkpoint_layers(),
                              output_hidden_states ? &out.hidden_states : nullptr,
                              [blocks = blocks_, mask](size_t l, const at::Tensor& x, const LayerMasks& m,
                                                       at::Tensor* k, at::Tensor* v) mutable {
                                return blocks[l]->forward(x, mask, m, k, v);
                              });
  out.last_hidden_state = ln_f(hidden);
  // HF reports ln_f's output as the last hidden state.
  if (output_hidden_states) out.hidden_states.back() = out.last_hidden_state;
  return out;
}

ModelFamily gpt2_family() {
  ModelFamily f;
  f.model_type = "gpt2";
  f.base_model_prefix = "transformer";
  f.heads = {HeadKind::causal_lm, HeadKind::sequence_classification};
  f.default_lora_targets = {"c_attn"};
  f.all_linear_targets = {"c_attn", "c_proj", "c_fc"};  // "c_proj" ends attn.c_proj and mlp.c_proj
  f.houlsby_adapter_targets = {"c_proj"};
  f.pfeiffer_adapter_regex = R"(.*\.mlp\.c_proj)";
  f.make_backbone = [](const ModelConfig& c, HeadKind) {
    return std::static_pointer_cast<BackboneImpl>(std::make_shared<Gpt2ModelImpl>(c));
  };
  f.make_head = [](torch::nn::Module& owner, const ModelConfig& c, HeadKind head,
                   BackboneImpl& backbone) -> std::unique_ptr<Head> {
    if (head == HeadKind::causal_lm)
      return std::make_unique<CausalLmHead>(owner, c, backbone.input_embeddings(), c.hidden_size);
    return std::make_unique<LastTokenScoreHead>(owner, c, c.hidden_size);
  };
  f.init_weights = [](torch::nn::Module& m, const ModelConfig& c) {
    models_detail::init_normal_weights(m, c.initializer_range);
    // HF GPT-2: the residual projections scaled by 1 / sqrt(2 n_layer) (GPT-2 paper, section 2.3).
    torch::NoGradGuard no_grad;
    const double std = c.initializer_range / std::sqrt(2.0 * static_cast<double>(c.num_hidden_layers));
    for (auto& p : m.named_parameters())
      if (p.key().size() >= 14 && p.key().compare(p.key().size() - 14, 14, "c_proj.weight") == 0)
        p.value().normal_(0.0, std);
  };
  f.architecture = [](HeadKind head) {
    return std::string(head == HeadKind::causal_lm ? "GPT2LMHeadModel" : "GPT2ForSequenceClassification");
  };
  return f;
}

}  // namespace lightpeft
