#include "lightpeft/models/sequence_classifier.h"

#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/mse_loss.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/bert.h"
#include "lightpeft/models/roberta.h"

namespace lightpeft {
namespace {

// HF BertPreTrainedModel._init_weights: linear and embedding weights ~ N(0, initializer_range),
// biases 0, the padding row of embeddings 0, LayerNorm weight 1 and bias 0.
void init_weights(torch::nn::Module& model, double std) {
  torch::NoGradGuard no_grad;
  for (const auto& m : model.modules(/*include_self=*/true)) {
    if (auto* dense = dynamic_cast<DenseImpl*>(m.get())) {
      dense->weight.normal_(0.0, std);
      if (dense->bias.defined()) dense->bias.zero_();
    } else if (auto* emb = dynamic_cast<torch::nn::EmbeddingImpl*>(m.get())) {
      emb->weight.normal_(0.0, std);
      if (emb->options.padding_idx()) emb->weight[*emb->options.padding_idx()].zero_();
    } else if (auto* ln = dynamic_cast<torch::nn::LayerNormImpl*>(m.get())) {
      ln->weight.fill_(1.0);
      ln->bias.zero_();
    }
  }
}

}  // namespace

void SequenceClassifierImpl::sync_config_with_modules() {
  auto enc = encoder();
  for (int64_t l = 0; l < enc->num_layers(); ++l) {
    auto layer = enc->layer_at(l);
    config_.heads_per_layer[l] = layer->attention->self->num_heads();
    config_.intermediate_per_layer[l] = layer->num_neurons();
  }
}

SequenceClassifier make_sequence_classifier(const ModelConfig& config) {
  validate_model_config(config, "model config");
  SequenceClassifier model;
  if (config.model_type == ModelType::bert)
    model = std::make_shared<BertForSequenceClassificationImpl>(config);
  else
    model = std::make_shared<RobertaForSequenceClassificationImpl>(config);
  init_weights(*model, config.initializer_range);
  return model;
}

torch::Tensor sequence_classification_loss(const ModelConfig& config, const torch::Tensor& logits,
                                           const torch::Tensor& labels) {
  if (config.problem_type == ProblemType::regression) {
    LP_CHECK(logits.size(-1) == 1, "regression needs num_labels == 1, got ", logits.size(-1));
    return at::mse_loss(logits.squeeze(-1), labels.to(logits.scalar_type()));
  }
  return at::cross_entropy_loss(logits.view({-1, logits.size(-1)}), labels.view({-1}).to(at::kLong));
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace lightpeft
