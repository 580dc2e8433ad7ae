#include "lightpeft/models/llama.h"

#include <cmath>

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cos.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/sin.h>
#include <ATen/ops/where.h>

#include "init_weights.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/activation.h"
#include "lightpeft/kernels/rotary.h"
#include "lightpeft/kernels/swiglu.h"
#include "lightpeft/models/attention_core.h"
#include "lightpeft/models/attention_mask.h"
#include "lightpeft/models/decoder_layers.h"
#include "lightpeft/models/family.h"

namespace lightpeft {

RotaryEmbedding::RotaryEmbedding(const ModelConfig& c) {
  const int64_t dim = c.head_size();
  auto exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / static_cast<double>(dim);
  inv_freq_ = 1.0 / at::pow(c.rope_theta, exponents);
  const RopeScaling& s = c.rope_scaling;
  if (s.rope_type == "linear") {
    inv_freq_ = inv_freq_ / s.factor;
  } else if (s.rope_type == "llama3") {
    // Llama 3.1: long wavelengths slowed by `factor`, short ones kept, a smooth blend between.
    const double old_context = static_cast<double>(s.original_max_position_embeddings);
    const double low_wavelen = old_context / s.low_freq_factor;
    const double high_wavelen = old_context / s.high_freq_factor;
    auto wavelen = 2.0 * M_PI / inv_freq_;
    auto scaled = at::where(wavelen > low_wavelen, inv_freq_ / s.factor, inv_freq_);
    auto smooth = (old_context / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    auto smoothed = (1 - smooth) * scaled / s.factor + smooth * scaled;
    auto medium = wavelen.ge(high_wavelen).logical_and(wavelen.le(low_wavelen));
    inv_freq_ = at::where(medium, smoothed, scaled);
  }
}

std::pair<at::Tensor, at::Tensor> RotaryEmbedding::cos_sin(const at::Tensor& position_ids,
                                                           c10::ScalarType dtype) const {
  auto inv = inv_freq_.to(position_ids.device());
  auto freqs = position_ids.to(at::kFloat).unsqueeze(-1) * inv;  // (B, T, d/2), float32 as HF
  auto emb = at::cat({freqs, freqs}, -1);
  return {at::cos(emb).to(dtype), at::sin(emb).to(dtype)};
}

at::Tensor positions_from_attention_mask(const at::Tensor& attention_mask) {
  auto mask = attention_mask.to(at::kLong);
  return (at::cumsum(mask, -1) - 1).masked_fill(mask.eq(0), 1);
}

LlamaAttentionImpl::LlamaAttentionImpl(const ModelConfig& c, int64_t units)
    : units_(units), heads_per_unit_(c.heads_per_unit()), head_size_(c.head_size()) {
  const int64_t q_out = units * heads_per_unit_ * head_size_, kv_out = units * head_size_;
  const bool bias = c.attention_bias;
  register_linear(*this, "q_proj", &q_proj, std::make_shared<DenseImpl>(c.hidden_size, q_out, bias));
  register_linear(*this, "k_proj", &k_proj, std::make_shared<DenseImpl>(c.hidden_size, kv_out, bias));
  register_linear(*this, "v_proj", &v_proj, std::make_shared<DenseImpl>(c.hidden_size, kv_out, bias));
  register_linear(*this, "o_proj", &o_proj, std::make_shared<DenseImpl>(q_out, c.hidden_size, bias));
  attention_dropout = register_module("attention_dropout", Dropout(c.attention_probs_dropout_prob));
}

at::Tensor LlamaAttentionImpl::forward(const at::Tensor& hidden, const at::Tensor& cos,
                                       const at::Tensor& sin, const at::Tensor& additive_mask,
                                       const at::Tensor& unit_mask, at::Tensor* cached_keys,
                                       at::Tensor* cached_values) {
  const int64_t batch = hidden.size(0), seq = hidden.size(1);
  auto heads = [&](const at::Tensor& x) { return x.view({batch, seq, -1, head_size_}).transpose(1, 2); };
  const at::Tensor x = autocast_shared_input(hidden);  // q, k and v read it
  auto q = kernels::apply_rotary(heads(q_proj->forward(x)), cos, sin);
  auto k = kernels::apply_rotary(heads(k_proj->forward(x)), cos, sin);
  auto v = heads(v_proj->forward(x));
  extend_kv_cache(k, v, cached_keys, cached_values);
  auto context = grouped_attention(q, k, v, additive_mask, unit_mask, heads_per_unit_,
                                   1.0 / std::sqrt(static_cast<double>(head_size_)), attention_dropout);
  return o_proj->forward(context);
}

LlamaMlpImpl::LlamaMlpImpl(const ModelConfig& c, int64_t d_ff) : activation_(c.hidden_act) {
  const bool bias = c.mlp_bias;
  register_linear(*this, "gate_proj", &gate_proj, std::make_shared<DenseImpl>(c.hidden_size, d_ff, bias));
  register_linear(*this, "up_proj", &up_proj, std::make_shared<DenseImpl>(c.hidden_size, d_ff, bias));
  register_linear(*this, "down_proj", &down_proj, std::make_shared<DenseImpl>(d_ff, c.hidden_size, bias));
}

at::Tensor LlamaMlpImpl::forward(const at::Tensor& input, const at::Tensor& neuron_mask) {
  const at::Tensor x = autocast_shared_input(input);  // gate and up read it
  // silu (every LLaMA-family config) as one fused pass; other activations as the composite.
  auto inner = activation_ == "silu" || activation_ == "swish"
                   ? kernels::silu_mul(gate_proj->forward(x), up_proj->forward(x))
                   : apply_activation(activation_, gate_proj->forward(x)) * up_proj->forward(x);
  if (neuron_mask.defined()) inner = inner * neuron_mask;
  return down_proj->forward(inner);
}

LlamaDecoderLayerImpl::LlamaDecoderLayerImpl(const ModelConfig& c, int64_t l) {
  self_attn = register_module("self_attn", LlamaAttention(c, c.attention_units(l)));
  mlp = register_module("mlp", LlamaMlp(c, c.intermediate(l)));
  input_layernorm = register_module("input_layernorm", RmsNorm(c.hidden_size, c.layer_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RmsNorm(c.hidden_size, c.layer_norm_eps));
}

at::Tensor LlamaDecoderLayerImpl::forward(const at::Tensor& hidden, const at::Tensor& cos,
                                          const at::Tensor& sin, const at::Tensor& additive_mask,
                                          const LayerMasks& masks, at::Tensor* cached_keys,
                                          at::Tensor* cached_values) {
  auto h = hidden + self_attn->forward(input_layernorm(hidden), cos, sin, additive_mask, masks.head,
                                       cached_keys, cached_values);
  return h + mlp->forward(post_attention_layernorm(h), masks.neuron);
}

UnitStructure LlamaDecoderLayerImpl::attention_units() const {
  const int64_t d = self_attn->head_size(), group = self_attn->heads_per_unit() * d;
  return {self_attn->units(),
          {{"self_attn.q_proj", 0, 0, group},
           {"self_attn.k_proj", 0, 0, d},
           {"self_attn.v_proj", 0, 0, d},
           {"self_attn.o_proj", 1, 0, group}}};
}

UnitStructure LlamaDecoderLayerImpl::mlp_neurons() const {
  return {mlp->up_proj->out_features(),
          {{"mlp.gate_proj", 0, 0, 1}, {"mlp.up_proj", 0, 0, 1}, {"mlp.down_proj", 1, 0, 1}}};
}

void LlamaDecoderLayerImpl::keep_attention_units(const std::vector<int64_t>& kept) {
  prune_unit_slices(*this, attention_units(), kept, "KV groups");
  self_attn->set_units(static_cast<int64_t>(kept.size()));
}

void LlamaDecoderLayerImpl::keep_mlp_neurons(const std::vector<int64_t>& kept) {
  prune_unit_slices(*this, mlp_neurons(), kept, "MLP neurons");
}

LlamaModelImpl::LlamaModelImpl(const ModelConfig& c) : rotary_(c) {
  auto emb = torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size);
  if (c.pad_token_id >= 0) emb.padding_idx(c.pad_token_id);
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(emb));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    layers_.push_back(LlamaDecoderLayer(c, l));
    layers->push_back(layers_.back());
  }
  norm = register_module("norm", RmsNorm(c.hidden_size, c.layer_norm_eps));
}

BackboneOutput LlamaModelImpl::forward(const ModelInputs& in, const std::vector<LayerMasks>& masks,
                                       bool output_hidden_states) {
  const DecoderStep step = begin_decoder_step(in, masks, layers_.size(), "LlamaModel");
  auto h = embed_tokens(in.input_ids);
  auto positions = default_positions(in, step.past);
  auto [cos, sin] = rotary_.cos_sin(positions, h.scalar_type());
  auto mask = causal_attention_mask(in.attention_mask, step.batch, step.seq, step.past, h.scalar_type(),
                                    h.device(), in.segment_ids);
  BackboneOutput out;
  if (output_hidden_states) out.hidden_states.push_back(h);
  h = run_decoder_layers(step, h, masks, layers_.size(), checkpoint_layers(),
                         output_hidden_states ? &out.hidden_states : nullptr,
                         [layers = layers_, cos = cos, sin = sin, mask](size_t l, const at::Tensor& x,
                                                                        const LayerMasks& m, at::Tensor* k,
                                                                        at::Tensor* v) mutable {
                           return layers[l]->forward(x, cos, sin, mask, m, k, v);
                         });
  out.last_hidden_state = norm(h);
  // HF (transformers 5's capture_outputs) reports the final norm's output as the last hidden state.
  if (output_hidden_states) out.hidden_states.back() = out.last_hidden_state;
  return out;
}

namespace {

ModelFamily decoder_family(const std::string& model_type, const std::string& cls_name) {
  ModelFamily f;
  f.model_type = model_type;
  f.base_model_prefix = "model";
  f.heads = {HeadKind::causal_lm, HeadKind::sequence_classification};
  f.default_lora_targets = {"q_proj", "v_proj"};
  f.all_linear_targets = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  f.houlsby_adapter_targets = {"o_proj", "down_proj"};
  f.pfeiffer_adapter_regex = R"(.*\.down_proj)";
  f.make_backbone = [](const ModelConfig& c, HeadKind) {
    return std::static_pointer_cast<BackboneImpl>(std::make_shared<LlamaModelImpl>(c));
  };
  f.make_head = [](torch::nn::Module& owner, const ModelConfig& c, HeadKind head,
                   BackboneImpl& backbone) -> std::unique_ptr<Head> {
    if (head == HeadKind::causal_lm)
      return std::make_unique<CausalLmHead>(owner, c, backbone.input_embeddings(), c.hidden_size);
    return std::make_unique<LastTokenScoreHead>(owner, c, c.hidden_size);
  };
  f.init_weights = [](torch::nn::Module& m, const ModelConfig& c) {
    models_detail::init_normal_weights(m, c.initializer_range);
  };
  f.architecture = [cls_name](HeadKind head) {
    return cls_name + (head == HeadKind::causal_lm ? "ForCausalLM" : "ForSequenceClassification");
  };
  return f;
}

}  // namespace

ModelFamily llama_family() { return decoder_family("llama", "Llama"); }
ModelFamily mistral_family() { return decoder_family("mistral", "Mistral"); }

}  // namespace lightpeft
