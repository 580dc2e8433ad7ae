// config.json of the LLaMA family (HF LlamaConfig; Mistral's MistralConfig reads the same way, its
// sliding window aside). transformers 5 writes RoPE as "rope_parameters" {rope_theta, rope_type,
// factor, ...}; older files have "rope_theta" and "rope_scaling" {type|rope_type, factor, ...}: both
// are read, the first is written.
#include "config_codec.h"

namespace lightpeft::models_detail {
namespace {

using nlohmann::json;

// The fields of a rope_parameters / rope_scaling object; `key` names it in errors.
void read_rope_object(ConfigReader& in, const char* key, const json& o, ModelConfig& c) {
  if (!o.is_object()) in.fail(key, std::string("expected an object, got ") + o.type_name());
  auto number = [&](const char* field, double fallback) {
    if (!o.contains(field) || o[field].is_null()) return fallback;
    if (!o[field].is_number())
      in.fail(key, std::string("field '") + field + "': expected a number, got " + o[field].dump());
    return o[field].get<double>();
  };
  std::string type = "default";
  for (const char* field : {"rope_type", "type"})
    if (o.contains(field) && !o[field].is_null()) {
      if (!o[field].is_string()) in.fail(key, std::string("field '") + field + "': expected a string");
      type = o[field].get<std::string>();
      break;
    }
  if (type != "default" && type != "linear" && type != "llama3")
    in.fail(key, "unsupported rope_type '" + type + "' (supported: default, linear, llama3)");
  c.rope_scaling.rope_type = type;
  c.rope_theta = number("rope_theta", c.rope_theta);
  c.rope_scaling.factor = number("factor", 1.0);
  c.rope_scaling.low_freq_factor = number("low_freq_factor", 1.0);
  c.rope_scaling.high_freq_factor = number("high_freq_factor", 4.0);
  c.rope_scaling.original_max_position_embeddings =
      static_cast<int64_t>(number("original_max_position_embeddings", 0));
  if (type != "default" && !(c.rope_scaling.factor > 0))
    in.fail(key, "field 'factor': expected a positive number");
  if (type == "llama3" && c.rope_scaling.original_max_position_embeddings <= 0)
    in.fail(key, "rope_type llama3 needs original_max_position_embeddings");
}

void read_llama(ConfigReader& in, ModelConfig& c) {
  c.vocab_size = in.integer("vocab_size");
  c.hidden_size = in.integer("hidden_size");
  c.num_hidden_layers = in.integer("num_hidden_layers");
  c.num_attention_heads = in.integer("num_attention_heads");
  c.num_key_value_heads = in.integer("num_key_value_heads", c.num_attention_heads);
  c.head_dim = in.integer("head_dim", 0);
  c.intermediate_size = in.integer("intermediate_size");
  c.hidden_act = in.string("hidden_act", "silu");
  c.max_position_embeddings = in.integer("max_position_embeddings", 2048);
  c.initializer_range = in.number("initializer_range", 0.02);
  c.layer_norm_eps = in.number("rms_norm_eps", 1e-6);
  c.pad_token_id = in.integer("pad_token_id", -1);
  c.tie_word_embeddings = in.boolean("tie_word_embeddings", false);
  c.attention_bias = in.boolean("attention_bias", false);
  c.mlp_bias = in.boolean("mlp_bias", false);
  c.attention_probs_dropout_prob = in.number("attention_dropout", 0.0);
  c.hidden_dropout_prob = 0.0;  // LLaMA has no hidden dropout
  c.type_vocab_size = 0;
  c.rope_theta = in.number("rope_theta", 10000.0);
  if (const json* p = in.value("rope_parameters")) read_rope_object(in, "rope_parameters", *p, c);
  if (const json* s = in.value("rope_scaling")) read_rope_object(in, "rope_scaling", *s, c);
  if (in.integer("pretraining_tp", 1) != 1)
    in.fail("pretraining_tp", "only 1 is supported (HF computes the same result with it)");
  if (in.integer("sliding_window", 0) > 0 && c.model_type == "mistral")
    in.fail("sliding_window", "sliding-window attention is not supported; set it to null for "
                              "sequences shorter than the window, which compute the same");
}

void write_llama(const ModelConfig& c, json& j) {
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.key_value_heads();
  j["head_dim"] = c.head_size();
  j["intermediate_size"] = c.intermediate_size;
  j["hidden_act"] = c.hidden_act;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["initializer_range"] = c.initializer_range;
  j["rms_norm_eps"] = c.layer_norm_eps;
  j["pad_token_id"] = c.pad_token_id >= 0 ? json(c.pad_token_id) : json(nullptr);
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["attention_bias"] = c.attention_bias;
  j["mlp_bias"] = c.mlp_bias;
  j["attention_dropout"] = c.attention_probs_dropout_prob;
  json rope = {{"rope_theta", c.rope_theta}, {"rope_type", c.rope_scaling.rope_type}};
  if (c.rope_scaling.rope_type != "default") rope["factor"] = c.rope_scaling.factor;
  if (c.rope_scaling.rope_type == "llama3") {
    rope["low_freq_factor"] = c.rope_scaling.low_freq_factor;
    rope["high_freq_factor"] = c.rope_scaling.high_freq_factor;
    rope["original_max_position_embeddings"] = c.rope_scaling.original_max_position_embeddings;
  }
  j["rope_parameters"] = rope;
}

}  // namespace

ConfigCodec llama_config_codec() { return {"llama", "num_key_value_heads_per_layer", read_llama, write_llama}; }
ConfigCodec mistral_config_codec() { return {"mistral", "num_key_value_heads_per_layer", read_llama, write_llama}; }

}  // namespace lightpeft::models_detail
