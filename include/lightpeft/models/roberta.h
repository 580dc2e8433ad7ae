#pragma once
// RoBERTa as in HF transformers: the BERT encoder with position ids offset by padding_idx + 1 and
// no token types in practice; RobertaForSequenceClassification ("roberta" without a pooler, and
// "classifier" = dense -> tanh -> dropout -> out_proj on the <s> token).
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>

#include "lightpeft/models/bert.h"

namespace lightpeft {

// Same modules and keys as BertModel; the embeddings switch to RoBERTa position ids by config.
class RobertaModelImpl : public BertModelImpl {
 public:
  explicit RobertaModelImpl(const ModelConfig& config, bool add_pooling_layer = true);
};
TORCH_MODULE(RobertaModel);

class RobertaClassificationHeadImpl : public torch::nn::Module, public LinearHost {
 public:
  explicit RobertaClassificationHeadImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);  // hidden (B, T, H) -> logits

  LinearPtr dense;
  torch::nn::Dropout dropout{nullptr};
  LinearPtr out_proj;
};
TORCH_MODULE(RobertaClassificationHead);

class RobertaForSequenceClassificationImpl : public SequenceClassifierImpl {
 public:
  explicit RobertaForSequenceClassificationImpl(const ModelConfig& config);
  ClassifierOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                           bool output_hidden_states = false) override;
  Embeddings embeddings() const override { return roberta->embeddings; }
  Encoder encoder() const override { return roberta->encoder; }
  std::string base_model_prefix() const override { return "roberta"; }

  RobertaModel roberta{nullptr};
  RobertaClassificationHead classifier{nullptr};
};
TORCH_MODULE(RobertaForSequenceClassification);

}  // namespace lightpeft
