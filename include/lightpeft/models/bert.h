#pragma once
// BERT and RoBERTa as in HF transformers: BertModel ("embeddings", "encoder", "pooler") is the
// backbone of both (RoBERTa's differs only in its position ids). Heads: sequence classification
// (BERT: dropout + classifier on the pooled [CLS]; RoBERTa: the "classifier" head on <s>), multiple
// choice (dropout + a one-output classifier on the pooled [CLS], both), extractive QA ("qa_outputs").
#include <torch/nn/module.h>

#include "lightpeft/models/backbone.h"
#include "lightpeft/models/embeddings.h"
#include "lightpeft/models/encoder.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

class BertPoolerImpl : public torch::nn::Module, public LinearHost {
 public:
  explicit BertPoolerImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& hidden);  // tanh(dense(hidden[:, 0]))
  LinearPtr dense;
};
TORCH_MODULE(BertPooler);

class BertModelImpl : public BackboneImpl {
 public:
  BertModelImpl(const ModelConfig& config, PositionIds positions, bool add_pooling_layer);
  BackboneOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                         bool output_hidden_states = false) override;
  int64_t num_layers() const override { return encoder->num_layers(); }
  PrunableLayer& layer(int64_t index) const override { return *encoder->layer_at(index); }
  torch::nn::Embedding input_embeddings() const override { return embeddings->word_embeddings; }
  bool is_decoder() const override { return false; }

  Embeddings embeddings{nullptr};
  Encoder encoder{nullptr};
  BertPooler pooler{nullptr};  // null when add_pooling_layer is false
};
TORCH_MODULE(BertModel);

}  // namespace lightpeft
