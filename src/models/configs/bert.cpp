// config.json of BERT and RoBERTa (HF BertConfig / RobertaConfig: the same keys, RoBERTa pads with 1).
#include "config_codec.h"

namespace lightpeft::models_detail {

void read_bert_keys(ConfigReader& in, ModelConfig& c, int64_t default_pad) {
  c.vocab_size = in.integer("vocab_size");
  c.hidden_size = in.integer("hidden_size");
  c.num_hidden_layers = in.integer("num_hidden_layers");
  c.num_attention_heads = in.integer("num_attention_heads");
  c.num_key_value_heads = c.num_attention_heads;
  c.intermediate_size = in.integer("intermediate_size");
  c.hidden_act = in.string("hidden_act", "gelu");
  c.hidden_dropout_prob = in.number("hidden_dropout_prob", 0.1);
  c.attention_probs_dropout_prob = in.number("attention_probs_dropout_prob", 0.1);
  c.classifier_dropout = in.number("classifier_dropout", -1.0);
  c.max_position_embeddings = in.integer("max_position_embeddings", 512);
  c.type_vocab_size = in.integer("type_vocab_size", 2);
  c.initializer_range = in.number("initializer_range", 0.02);
  c.layer_norm_eps = in.number("layer_norm_eps", 1e-12);
  c.pad_token_id = in.integer("pad_token_id", default_pad);
  const std::string pos = in.string("position_embedding_type", "absolute");
  if (pos != "absolute") in.fail("position_embedding_type", "only 'absolute' is supported, got '" + pos + "'");
}

void write_bert_keys(const ModelConfig& c, nlohmann::json& j) {
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["intermediate_size"] = c.intermediate_size;
  j["hidden_act"] = c.hidden_act;
  j["hidden_dropout_prob"] = c.hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = c.attention_probs_dropout_prob;
  if (c.classifier_dropout >= 0)
    j["classifier_dropout"] = c.classifier_dropout;
  else
    j["classifier_dropout"] = nullptr;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["type_vocab_size"] = c.type_vocab_size;
  j["initializer_range"] = c.initializer_range;
  j["layer_norm_eps"] = c.layer_norm_eps;
  j["pad_token_id"] = c.pad_token_id;
  j["position_embedding_type"] = "absolute";
}

ConfigCodec bert_config_codec() {
  return {"bert", "num_attention_heads_per_layer",
          [](ConfigReader& in, ModelConfig& c) { read_bert_keys(in, c, 0); }, write_bert_keys};
}

ConfigCodec roberta_config_codec() {
  return {"roberta", "num_attention_heads_per_layer",
          [](ConfigReader& in, ModelConfig& c) { read_bert_keys(in, c, 1); }, write_bert_keys};
}

}  // namespace lightpeft::models_detail
