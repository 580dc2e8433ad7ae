#include "lightpeft/models/heads.h"

#include <ATen/autocast_mode.h>
#include <ATen/core/Reduction.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <ATen/ops/arange.h>
#include <ATen/TensorIndexing.h>
#include <ATen/ops/argmax.h>
#include <ATen/ops/constant_pad_nd.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/mse_loss.h>
#include <ATen/ops/full.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/select.h>
#include <ATen/ops/tanh.h>

#include <ATen/ops/nonzero.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/linear_cross_entropy.h"

namespace lightpeft {
namespace {

double classifier_dropout(const ModelConfig& c) {
  return c.classifier_dropout >= 0 ? c.classifier_dropout : c.hidden_dropout_prob;
}

}  // namespace

at::Tensor Head::loss(const BackboneOutput&, const ModelInputs&) {
  throw_error("this head computes no loss of its own (ModelInputs::loss_targets is for causal LM heads)");
}

std::string to_string(HeadKind kind) {
  switch (kind) {
    case HeadKind::sequence_classification: return "sequence_classification";
    case HeadKind::multiple_choice: return "multiple_choice";
    case HeadKind::question_answering: return "question_answering";
    case HeadKind::causal_lm: return "causal_lm";
  }
  return "?";
}

HeadKind parse_head_kind(const std::string& name, const std::string& origin) {
  if (name == "sequence_classification" || name == "seq_cls") return HeadKind::sequence_classification;
  if (name == "multiple_choice") return HeadKind::multiple_choice;
  if (name == "question_answering" || name == "qa") return HeadKind::question_answering;
  if (name == "causal_lm" || name == "lm") return HeadKind::causal_lm;
  throw_error(origin, ": unknown head '", name,
              "' (expected sequence_classification, multiple_choice, question_answering or causal_lm)");
}

PooledClassifierHead::PooledClassifierHead(torch::nn::Module& owner, const ModelConfig& c,
                                           int64_t num_outputs) {
  dropout_ = owner.register_module("dropout", Dropout(classifier_dropout(c)));
  classifier_ = owner.register_module("classifier", Dense(c.hidden_size, num_outputs));
}

at::Tensor PooledClassifierHead::forward(const BackboneOutput& out, const ModelInputs&) {
  LP_CHECK(out.pooler_output.defined(), "PooledClassifierHead: the backbone has no pooler");
  return classifier_(dropout_(out.pooler_output));
}

RobertaClassificationHeadImpl::RobertaClassificationHeadImpl(const ModelConfig& c) {
  register_linear(*this, "dense", &dense, std::make_shared<DenseImpl>(c.hidden_size, c.hidden_size));
  dropout = register_module("dropout", Dropout(classifier_dropout(c)));
  register_linear(*this, "out_proj", &out_proj, std::make_shared<DenseImpl>(c.hidden_size, c.num_labels));
}

at::Tensor RobertaClassificationHeadImpl::forward(const at::Tensor& hidden) {
  auto x = dropout(hidden.select(1, 0));  // <s>
  x = dropout(at::tanh(dense->forward(x)));
  return out_proj->forward(x);
}

RobertaSequenceHead::RobertaSequenceHead(torch::nn::Module& owner, const ModelConfig& c) {
  classifier_ = owner.register_module("classifier", RobertaClassificationHead(c));
}

at::Tensor RobertaSequenceHead::forward(const BackboneOutput& out, const ModelInputs&) {
  return classifier_(out.last_hidden_state);
}

SpanHead::SpanHead(torch::nn::Module& owner, const ModelConfig& c) {
  qa_outputs_ = owner.register_module("qa_outputs", Dense(c.hidden_size, 2));
}

at::Tensor SpanHead::forward(const BackboneOutput& out, const ModelInputs&) {
  return qa_outputs_(out.last_hidden_state);
}

CausalLmHead::CausalLmHead(torch::nn::Module& owner, const ModelConfig& c,
                           torch::nn::Embedding embedding, int64_t hidden_size)
    : embedding_(std::move(embedding)) {
  if (!c.tie_word_embeddings)
    lm_head_ = owner.register_module("lm_head", Dense(hidden_size, c.vocab_size, /*bias=*/false));
}

at::Tensor CausalLmHead::autocast_weight(const at::Tensor& hidden) const {
  const at::Tensor& w = weight();
  const auto device = hidden.device().type();
  if (!at::autocast::is_autocast_enabled(device) || w.requires_grad()) return {};
  const auto dtype = at::autocast::get_autocast_dtype(device);
  if (w.scalar_type() == dtype || !at::isFloatingType(w.scalar_type())) return {};
  CastWeight& c = cast_weight_;
  if (c.source != w.const_data_ptr() || c.version != static_cast<int64_t>(w._version()) || c.dtype != dtype) {
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    c = {w.const_data_ptr(), static_cast<int64_t>(w._version()), dtype, w.to(dtype)};
  }
  return c.cast;
}

at::Tensor CausalLmHead::project(const at::Tensor& hidden) const {
  if (const at::Tensor cast = autocast_weight(hidden); cast.defined()) return at::linear(hidden, cast);
  return lm_head_ ? lm_head_.ptr()->forward(hidden) : at::linear(hidden, embedding_->weight);
}

at::Tensor CausalLmHead::picked_hidden(const BackboneOutput& out, const ModelInputs& inputs) const {
  const at::Tensor& h = out.last_hidden_state;
  LP_CHECK(inputs.logits_mask.dim() == 2 && inputs.logits_mask.size(0) == h.size(0) &&
               inputs.logits_mask.size(1) == h.size(1),
           "logits_mask: expected shape (", h.size(0), ", ", h.size(1), "), got ", inputs.logits_mask.sizes());
  const at::Tensor rows = at::nonzero(inputs.logits_mask.to(h.device()).reshape({-1})).squeeze(1);
  return h.reshape({-1, h.size(-1)}).index_select(0, rows);
}

at::Tensor CausalLmHead::forward(const BackboneOutput& out, const ModelInputs& inputs) {
  if (!inputs.logits_mask.defined()) return project(out.last_hidden_state);
  return project(picked_hidden(out, inputs));
}

at::Tensor CausalLmHead::loss(const BackboneOutput& out, const ModelInputs& inputs) {
  LP_CHECK(inputs.logits_mask.defined() && inputs.loss_targets.defined(),
           "causal LM head: a fused loss needs logits_mask and loss_targets");
  const at::Tensor hidden = picked_hidden(out, inputs);
  LP_CHECK(inputs.loss_targets.dim() == 1 && inputs.loss_targets.size(0) == hidden.size(0), "loss_targets: expected (",
           hidden.size(0), ") for the logits_mask's positions, got ", inputs.loss_targets.sizes());
  const at::Tensor cast = autocast_weight(hidden);
  return kernels::linear_cross_entropy(hidden, cast.defined() ? cast : weight(), inputs.loss_targets, kIgnoreLabel);
}

LastTokenScoreHead::LastTokenScoreHead(torch::nn::Module& owner, const ModelConfig& c,
                                       int64_t hidden_size)
    : pad_token_id_(c.pad_token_id) {
  score_ = owner.register_module("score", Dense(hidden_size, c.num_labels, /*bias=*/false));
}

at::Tensor LastTokenScoreHead::forward(const BackboneOutput& out, const ModelInputs& in) {
  const auto& h = out.last_hidden_state;  // (B, T, H)
  const int64_t batch = h.size(0), seq = h.size(1);
  // The last token that is not padding: from the attention mask where there is one, else HF's rule
  // (the rightmost position whose id is not the pad id; the last position without a pad id).
  at::Tensor last;
  auto positions = at::arange(seq, h.options().dtype(at::kLong));
  if (in.attention_mask.defined()) {
    auto mask = in.attention_mask.slice(1, in.attention_mask.size(1) - seq).to(at::kLong);
    last = at::argmax(positions * mask, -1);
  } else if (pad_token_id_ >= 0) {
    last = at::argmax(positions * in.input_ids.ne(pad_token_id_).to(at::kLong), -1);
  } else {
    LP_CHECK(batch == 1, "sequence classification on a decoder without a pad token needs an "
                         "attention mask for batches of more than one");
    last = at::full({batch}, seq - 1, positions.options());
  }
  auto pooled = h.index({at::arange(batch, last.options()), last});  // (B, H)
  return score_(pooled);
}

at::Tensor sequence_classification_loss(const ModelConfig& config, const at::Tensor& logits,
                                        const at::Tensor& labels) {
  if (config.problem_type == ProblemType::regression) {
    LP_CHECK(logits.size(-1) == 1, "regression needs num_labels == 1, got ", logits.size(-1));
    return at::mse_loss(logits.squeeze(-1), labels.to(logits.scalar_type()));
  }
  return at::cross_entropy_loss(logits.view({-1, logits.size(-1)}), labels.view({-1}).to(at::kLong));
}

at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels) {
  LP_CHECK(logits.dim() == 3 && labels.dim() == 2 && logits.size(0) == labels.size(0) &&
               logits.size(1) == labels.size(1),
           "causal_lm_loss: expected logits (batch, seq, vocab) and labels (batch, seq), got ",
           logits.sizes(), " and ", labels.sizes());
  // HF: labels padded with one ignored label on the right, then shifted left by one, so the last
  // position predicts nothing; the logits are not sliced (same sum, same order as HF's).
  auto shifted =
      at::constant_pad_nd(labels.to(logits.device(), at::kLong), {0, 1}, kIgnoreLabel).slice(1, 1);
  return at::cross_entropy_loss(logits.to(at::kFloat).reshape({-1, logits.size(-1)}),
                                shifted.reshape({-1}), /*weight=*/{}, at::Reduction::Mean, kIgnoreLabel);
}

}  // namespace lightpeft
