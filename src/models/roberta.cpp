#include "lightpeft/models/roberta.h"

#include <ATen/ops/select.h>
#include <ATen/ops/tanh.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

RobertaModelImpl::RobertaModelImpl(const ModelConfig& c, bool add_pooling_layer)
    : BertModelImpl(c, add_pooling_layer) {
  LP_CHECK(c.model_type == ModelType::roberta, "RobertaModel needs a config with model_type 'roberta'");
}

RobertaClassificationHeadImpl::RobertaClassificationHeadImpl(const ModelConfig& c) {
  register_linear(*this, "dense", &dense, std::make_shared<DenseImpl>(c.hidden_size, c.hidden_size));
  const double p = c.classifier_dropout >= 0 ? c.classifier_dropout : c.hidden_dropout_prob;
  dropout = register_module("dropout", torch::nn::Dropout(p));
  register_linear(*this, "out_proj", &out_proj,
                  std::make_shared<DenseImpl>(c.hidden_size, c.num_labels));
}

torch::Tensor RobertaClassificationHeadImpl::forward(const torch::Tensor& hidden) {
  auto x = dropout(hidden.select(1, 0));  // <s>
  x = dropout(at::tanh(dense->forward(x)));
  return out_proj->forward(x);
}

RobertaForSequenceClassificationImpl::RobertaForSequenceClassificationImpl(const ModelConfig& c)
    : SequenceClassifierImpl(c) {
  roberta = register_module("roberta", RobertaModel(c, /*add_pooling_layer=*/false));
  classifier = register_module("classifier", RobertaClassificationHead(c));
}

ClassifierOutput RobertaForSequenceClassificationImpl::forward(const ModelInputs& inputs,
                                                               const std::vector<LayerMasks>& masks,
                                                               bool output_hidden_states) {
  auto out = roberta(inputs, masks, output_hidden_states);
  ClassifierOutput result;
  result.logits = classifier(out.last_hidden_state);
  result.hidden_states = std::move(out.hidden_states);
  return result;
}

}  // namespace lightpeft
