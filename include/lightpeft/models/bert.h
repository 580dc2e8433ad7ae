#pragma once
// BERT as in HF transformers: BertModel ("embeddings", "encoder", "pooler") and
// BertForSequenceClassification ("bert", "classifier"): the pooled [CLS] (dense + tanh) feeds a
// dropout and a linear classifier (or a 1-output regressor for STS-B).
#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>

#include "lightpeft/models/embeddings.h"
#include "lightpeft/models/encoder.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/models/sequence_classifier.h"

namespace lightpeft {

class BertPoolerImpl : public torch::nn::Module, public LinearHost {
 public:
  explicit BertPoolerImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);  // tanh(dense(hidden[:, 0]))
  LinearPtr dense;
};
TORCH_MODULE(BertPooler);

struct BertModelOutput {
  torch::Tensor last_hidden_state;
  torch::Tensor pooler_output;  // undefined without a pooler
  std::vector<torch::Tensor> hidden_states;
};

class BertModelImpl : public torch::nn::Module {
 public:
  explicit BertModelImpl(const ModelConfig& config, bool add_pooling_layer = true);
  BertModelOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                          bool output_hidden_states = false);

  Embeddings embeddings{nullptr};
  Encoder encoder{nullptr};
  BertPooler pooler{nullptr};  // null when add_pooling_layer is false
};
TORCH_MODULE(BertModel);

class BertForSequenceClassificationImpl : public SequenceClassifierImpl {
 public:
  explicit BertForSequenceClassificationImpl(const ModelConfig& config);
  ClassifierOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                           bool output_hidden_states = false) override;
  Embeddings embeddings() const override { return bert->embeddings; }
  Encoder encoder() const override { return bert->encoder; }
  std::string base_model_prefix() const override { return "bert"; }

  BertModel bert{nullptr};
  torch::nn::Dropout dropout{nullptr};
  Dense classifier{nullptr};
};
TORCH_MODULE(BertForSequenceClassification);

}  // namespace lightpeft
