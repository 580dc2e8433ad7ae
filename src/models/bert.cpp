#include "lightpeft/models/bert.h"

#include <ATen/ops/ones.h>
#include <ATen/ops/select.h>
#include <ATen/ops/tanh.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

BertPoolerImpl::BertPoolerImpl(const ModelConfig& c) {
  register_linear(*this, "dense", &dense, std::make_shared<DenseImpl>(c.hidden_size, c.hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& hidden) {
  return at::tanh(dense->forward(hidden.select(1, 0)));
}

BertModelImpl::BertModelImpl(const ModelConfig& c, bool add_pooling_layer) {
  embeddings = register_module("embeddings", Embeddings(c));
  encoder = register_module("encoder", Encoder(c));
  if (add_pooling_layer) pooler = register_module("pooler", BertPooler(c));
}

BertModelOutput BertModelImpl::forward(const ModelInputs& in, const std::vector<LayerMasks>& masks,
                                       bool output_hidden_states) {
  LP_CHECK(in.input_ids.defined(), "BertModel: input_ids is required");
  auto attention_mask = in.attention_mask.defined() ? in.attention_mask
                                                    : at::ones_like(in.input_ids);
  LP_CHECK(attention_mask.sizes() == in.input_ids.sizes(), "attention_mask shape ",
           attention_mask.sizes(), " differs from input_ids shape ", in.input_ids.sizes());
  auto x = embeddings(in.input_ids, in.token_type_ids);
  auto enc = encoder->forward(x, additive_attention_mask(attention_mask, x.scalar_type()), masks,
                              output_hidden_states);
  BertModelOutput out;
  out.last_hidden_state = enc.last_hidden_state;
  out.hidden_states = std::move(enc.hidden_states);
  if (pooler) out.pooler_output = pooler(out.last_hidden_state);
  return out;
}

BertForSequenceClassificationImpl::BertForSequenceClassificationImpl(const ModelConfig& c)
    : SequenceClassifierImpl(c) {
  bert = register_module("bert", BertModel(c, /*add_pooling_layer=*/true));
  const double p = c.classifier_dropout >= 0 ? c.classifier_dropout : c.hidden_dropout_prob;
  dropout = register_module("dropout", torch::nn::Dropout(p));
  classifier = register_module("classifier", Dense(c.hidden_size, c.num_labels));
}

ClassifierOutput BertForSequenceClassificationImpl::forward(const ModelInputs& inputs,
                                                            const std::vector<LayerMasks>& masks,
                                                            bool output_hidden_states) {
  auto out = bert(inputs, masks, output_hidden_states);
  ClassifierOutput result;
  result.logits = classifier(dropout(out.pooler_output));
  result.hidden_states = std::move(out.hidden_states);
  return result;
}

}  // namespace lightpeft
