#pragma once
// What the trainer, PEFT and pruning code see of a model: an encoder with a sequence
// classification (or regression) head. BertForSequenceClassification and
// RobertaForSequenceClassification implement it.
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "lightpeft/models/embeddings.h"
#include "lightpeft/models/encoder.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

struct ModelInputs {
  torch::Tensor input_ids;       // (B, T) int64
  torch::Tensor attention_mask;  // (B, T) 1 for tokens, 0 for padding; undefined: all ones
  torch::Tensor token_type_ids;  // (B, T) or undefined
};

struct ClassifierOutput {
  torch::Tensor logits;                      // (B, num_labels)
  std::vector<torch::Tensor> hidden_states;  // embeddings + each layer, when requested
};

class SequenceClassifierImpl : public torch::nn::Module {
 public:
  explicit SequenceClassifierImpl(ModelConfig config) : config_(std::move(config)) {}
  virtual ClassifierOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                                   bool output_hidden_states = false) = 0;
  virtual Embeddings embeddings() const = 0;
  virtual Encoder encoder() const = 0;
  // "bert" or "roberta": the prefix of the encoder's keys in HF checkpoints.
  virtual std::string base_model_prefix() const = 0;
  // Names of the head's modules (HF `modules_to_save`): "classifier".
  virtual std::vector<std::string> head_module_names() const { return {"classifier"}; }

  const ModelConfig& config() const { return config_; }
  // Keeps config().heads_per_layer / intermediate_per_layer true after physical pruning.
  void sync_config_with_modules();

 protected:
  ModelConfig config_;
};
using SequenceClassifier = std::shared_ptr<SequenceClassifierImpl>;

// A randomly initialised model of config.model_type (weights as HF's _init_weights, seeded by the
// caller through torch::manual_seed).
SequenceClassifier make_sequence_classifier(const ModelConfig& config);

// Loss as HF's ...ForSequenceClassification: cross-entropy on class ids (int64), or MSE on float
// targets for regression (num_labels == 1).
torch::Tensor sequence_classification_loss(const ModelConfig& config, const torch::Tensor& logits,
                                           const torch::Tensor& labels);

// Total parameter count (all parameters, trainable or not).
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace lightpeft
