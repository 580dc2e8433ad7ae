#include "lightpeft/models/bert.h"

#include <ATen/ops/ones.h>
#include <ATen/ops/select.h>
#include <ATen/ops/tanh.h>

#include "init_weights.h"
#include "lightpeft/core/error.h"
#include "lightpeft/models/attention_mask.h"
#include "lightpeft/models/family.h"

namespace lightpeft {

BertPoolerImpl::BertPoolerImpl(const ModelConfig& c) {
  register_linear(*this, "dense", &dense, std::make_shared<DenseImpl>(c.hidden_size, c.hidden_size));
}

torch::Tensor BertPoolerImpl::forward(const torch::Tensor& hidden) {
  return at::tanh(dense->forward(hidden.select(1, 0)));
}

BertModelImpl::BertModelImpl(const ModelConfig& c, PositionIds positions, bool add_pooling_layer) {
  embeddings = register_module("embeddings", Embeddings(c, positions));
  encoder = register_module("encoder", Encoder(c));
  if (add_pooling_layer) pooler = register_module("pooler", BertPooler(c));
}

BackboneOutput BertModelImpl::forward(const ModelInputs& in, const std::vector<LayerMasks>& masks,
                                      bool output_hidden_states) {
  LP_CHECK(in.input_ids.defined(), "BertModel: input_ids is required");
  LP_CHECK(in.cache == nullptr, "BertModel: an encoder takes no key/value cache");
  auto attention_mask = in.attention_mask.defined() ? in.attention_mask
                                                    : at::ones_like(in.input_ids);
  LP_CHECK(attention_mask.sizes() == in.input_ids.sizes(), "attention_mask shape ",
           attention_mask.sizes(), " differs from input_ids shape ", in.input_ids.sizes());
  auto x = embeddings(in.input_ids, in.token_type_ids);
  auto enc = encoder->forward(x, additive_attention_mask(attention_mask, x.scalar_type()), masks,
                              output_hidden_states, checkpoint_layers());
  BackboneOutput out;
  out.last_hidden_state = enc.last_hidden_state;
  out.hidden_states = std::move(enc.hidden_states);
  if (pooler) out.pooler_output = pooler(out.last_hidden_state);
  return out;
}

namespace {

// The BERT-style encoder families share everything but their position ids and their
// sequence-classification head.
ModelFamily encoder_family(const std::string& model_type, PositionIds positions, const std::string& cls_name) {
  ModelFamily f;
  f.model_type = model_type;
  f.base_model_prefix = model_type;
  f.heads = {HeadKind::sequence_classification, HeadKind::multiple_choice, HeadKind::question_answering};
  f.default_lora_targets = {"query", "value"};
  f.all_linear_targets = {"query", "key", "value", "attention.output.dense", "intermediate.dense",
                          "output.dense"};
  // "output.dense" ends both attention.output.dense and the FFN's output.dense.
  f.houlsby_adapter_targets = {"output.dense"};
  // The FFN's output.dense sits directly under "layer.<i>"; attention.output.dense does not.
  f.pfeiffer_adapter_regex = R"(.*\.layer\.\d+\.output\.dense)";
  f.make_backbone = [positions, model_type](const ModelConfig& c, HeadKind head) {
    // HF: RobertaForSequenceClassification and ...ForQuestionAnswering have no pooler.
    const bool pooler = head == HeadKind::multiple_choice ||
                        (head == HeadKind::sequence_classification && model_type == "bert");
    return std::static_pointer_cast<BackboneImpl>(std::make_shared<BertModelImpl>(c, positions, pooler));
  };
  f.init_weights = [](torch::nn::Module& m, const ModelConfig& c) {
    models_detail::init_normal_weights(m, c.initializer_range);
  };
  f.architecture = [cls_name](HeadKind head) {
    switch (head) {
      case HeadKind::multiple_choice: return cls_name + "ForMultipleChoice";
      case HeadKind::question_answering: return cls_name + "ForQuestionAnswering";
      default: return cls_name + "ForSequenceClassification";
    }
  };
  return f;
}

}  // namespace

ModelFamily bert_family() {
  ModelFamily f = encoder_family("bert", PositionIds::sequential, "Bert");
  f.make_head = [](torch::nn::Module& owner, const ModelConfig& c, HeadKind head,
                   BackboneImpl&) -> std::unique_ptr<Head> {
    if (head == HeadKind::question_answering) return std::make_unique<SpanHead>(owner, c);
    const int64_t outputs = head == HeadKind::multiple_choice ? 1 : c.num_labels;
    return std::make_unique<PooledClassifierHead>(owner, c, outputs);
  };
  return f;
}

ModelFamily roberta_family() {
  ModelFamily f = encoder_family("roberta", PositionIds::after_padding_idx, "Roberta");
  f.make_head = [](torch::nn::Module& owner, const ModelConfig& c, HeadKind head,
                   BackboneImpl&) -> std::unique_ptr<Head> {
    if (head == HeadKind::question_answering) return std::make_unique<SpanHead>(owner, c);
    if (head == HeadKind::multiple_choice) return std::make_unique<PooledClassifierHead>(owner, c, 1);
    return std::make_unique<RobertaSequenceHead>(owner, c);
  };
  return f;
}

}  // namespace lightpeft
