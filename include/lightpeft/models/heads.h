#pragma once
// Task heads with HF's module names, shared by the families that use them:
//   PooledClassifierHead      "dropout" + "classifier" on BERT's pooled [CLS] (BertForSequence-
//                             Classification; with one output, BertForMultipleChoice and
//                             RobertaForMultipleChoice)
//   RobertaClassificationHead "classifier" = dense -> tanh -> out_proj on <s>
//   SpanHead                  "qa_outputs" (hidden -> 2): start/end logits per token (...ForQuestionAnswering)
//   CausalLmHead              "lm_head" (hidden -> vocab, no bias), or the input embedding when tied
//   LastTokenScoreHead        "score" on the last non-padding token (decoders' ...ForSequenceClassification)
// A head registers its modules on the task model itself (not under a "head." prefix), which is
// where HF's checkpoints keep them.
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>

#include "lightpeft/models/dropout.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/models/model_io.h"

namespace lightpeft {

enum class HeadKind { sequence_classification, multiple_choice, question_answering, causal_lm };
std::string to_string(HeadKind kind);  // "sequence_classification", ...
// Accepts those names (and "seq_cls", "qa", "lm"); throws listing them for anything else.
HeadKind parse_head_kind(const std::string& name, const std::string& origin);

class Head {
 public:
  virtual ~Head() = default;
  virtual at::Tensor forward(const BackboneOutput& out, const ModelInputs& inputs) = 0;
  // The loss against inputs.loss_targets, for heads that fuse their product with it; the others
  // throw (a task sets loss_targets only for a head it knows computes it).
  virtual at::Tensor loss(const BackboneOutput& out, const ModelInputs& inputs);
  // The names of the head's modules on the model: what HF PEFT keeps trainable and saves
  // (modules_to_save) for a classification head; empty for an LM head.
  virtual std::vector<std::string> module_names() const = 0;
};

class PooledClassifierHead : public Head {
 public:
  PooledClassifierHead(torch::nn::Module& owner, const ModelConfig& config, int64_t num_outputs);
  at::Tensor forward(const BackboneOutput& out, const ModelInputs& inputs) override;
  std::vector<std::string> module_names() const override { return {"classifier"}; }

 private:
  Dropout dropout_{nullptr};
  Dense classifier_{nullptr};
};

class RobertaClassificationHeadImpl : public torch::nn::Module, public LinearHost {
 public:
  explicit RobertaClassificationHeadImpl(const ModelConfig& config);
  at::Tensor forward(const at::Tensor& hidden);  // hidden (B, T, H) -> logits, from <s>

  LinearPtr dense;
  Dropout dropout{nullptr};
  LinearPtr out_proj;
};
TORCH_MODULE(RobertaClassificationHead);

class RobertaSequenceHead : public Head {
 public:
  RobertaSequenceHead(torch::nn::Module& owner, const ModelConfig& config);
  at::Tensor forward(const BackboneOutput& out, const ModelInputs& inputs) override;
  std::vector<std::string> module_names() const override { return {"classifier"}; }

 private:
  RobertaClassificationHead classifier_{nullptr};
};

class SpanHead : public Head {
 public:
  SpanHead(torch::nn::Module& owner, const ModelConfig& config);
  at::Tensor forward(const BackboneOutput& out, const ModelInputs& inputs) override;  // (B, T, 2)
  std::vector<std::string> module_names() const override { return {"qa_outputs"}; }

 private:
  Dense qa_outputs_{nullptr};
};

class CausalLmHead : public Head {
 public:
  // `embedding` is read when the config ties the LM head to the input embedding.
  CausalLmHead(torch::nn::Module& owner, const ModelConfig& config, torch::nn::Embedding embedding,
               int64_t hidden_size);
  at::Tensor forward(const BackboneOutput& out, const ModelInputs& inputs) override;  // (B, T, V)
  // Mean cross-entropy of the logits_mask positions against loss_targets, without their logits.
  at::Tensor loss(const BackboneOutput& out, const ModelInputs& inputs) override;
  // Logits of some hidden states only.
  at::Tensor project(const at::Tensor& hidden) const;
  std::vector<std::string> module_names() const override { return {}; }
  bool tied() const { return !lm_head_; }

 private:
  at::Tensor picked_hidden(const BackboneOutput& out, const ModelInputs& inputs) const;  // (N, H)
  const at::Tensor& weight() const { return lm_head_ ? lm_head_->weight : embedding_->weight; }
  // Under autocast, a frozen weight's cast to the autocast dtype, kept while the weight is unchanged
  // (autocast caches casts of trained leaves only: the tied embedding of a LoRA model, 49,152 x
  // 576, was cast again every forward, 7 ms of SmolLM2's 205 ms bf16 inference); undefined where
  // the product reads the weight as it is.
  at::Tensor autocast_weight(const at::Tensor& hidden) const;

  Dense lm_head_{nullptr};  // null when tied
  torch::nn::Embedding embedding_{nullptr};
  struct CastWeight {
    const void* source = nullptr;  // the weight's storage, its version, the cast's dtype
    int64_t version = -1;
    c10::ScalarType dtype = c10::ScalarType::Undefined;
    at::Tensor cast;
  };
  mutable CastWeight cast_weight_;
};

class LastTokenScoreHead : public Head {
 public:
  LastTokenScoreHead(torch::nn::Module& owner, const ModelConfig& config, int64_t hidden_size);
  at::Tensor forward(const BackboneOutput& out, const ModelInputs& inputs) override;  // (B, labels)
  std::vector<std::string> module_names() const override { return {"score"}; }

 private:
  Dense score_{nullptr};
  int64_t pad_token_id_;
};

// Loss as HF's ...ForSequenceClassification: cross-entropy on class ids (int64), or MSE on float
// targets for regression (num_labels == 1).
at::Tensor sequence_classification_loss(const ModelConfig& config, const at::Tensor& logits,
                                        const at::Tensor& labels);

// Loss as HF's ...ForCausalLM (ForCausalLMLoss): logits (B, T, V) at position t predict labels
// (B, T) at t + 1 (the shift happens here, so labels are the input ids with kIgnoreLabel where no
// loss is wanted: padding, prompt tokens); cross-entropy in float32, averaged over the counted
// tokens (NaN when none is, as HF's; no check here: it would synchronise the device every step).
inline constexpr int64_t kIgnoreLabel = -100;
at::Tensor causal_lm_loss(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace lightpeft
