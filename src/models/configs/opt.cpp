// config.json of OPT (HF OPTConfig): ffn_dim is the MLP width, learned positions, optional
// project_in/project_out when word_embed_proj_dim differs from hidden_size.
#include "config_codec.h"

namespace lightpeft::models_detail {
namespace {

void read_opt(ConfigReader& in, ModelConfig& c) {
  c.vocab_size = in.integer("vocab_size");
  c.hidden_size = in.integer("hidden_size");
  c.num_hidden_layers = in.integer("num_hidden_layers");
  c.num_attention_heads = in.integer("num_attention_heads");
  c.num_key_value_heads = c.num_attention_heads;
  c.intermediate_size = in.integer("ffn_dim");
  c.hidden_act = in.string("activation_function", "relu");
  c.max_position_embeddings = in.integer("max_position_embeddings", 2048);
  c.initializer_range = in.number("init_std", 0.02);
  c.hidden_dropout_prob = in.number("dropout", 0.1);
  c.attention_probs_dropout_prob = in.number("attention_dropout", 0.0);
  c.layer_norm_eps = 1e-5;  // torch.nn.LayerNorm's default: OPT sets no eps
  c.pad_token_id = in.integer("pad_token_id", 1);
  c.tie_word_embeddings = in.boolean("tie_word_embeddings", true);
  c.do_layer_norm_before = in.boolean("do_layer_norm_before", true);
  c.word_embed_proj_dim = in.integer("word_embed_proj_dim", c.hidden_size);
  const bool bias = in.boolean("enable_bias", true);
  c.attention_bias = c.mlp_bias = bias;
  c.type_vocab_size = 0;
  if (!in.boolean("layer_norm_elementwise_affine", true))
    in.fail("layer_norm_elementwise_affine", "only true is supported");
  if (in.boolean("_remove_final_layer_norm", false))
    in.fail("_remove_final_layer_norm", "only false is supported");
  if (in.number("layerdrop", 0.0) != 0.0) in.fail("layerdrop", "only 0 is supported");
}

void write_opt(const ModelConfig& c, nlohmann::json& j) {
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["ffn_dim"] = c.intermediate_size;
  j["activation_function"] = c.hidden_act;
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["init_std"] = c.initializer_range;
  j["dropout"] = c.hidden_dropout_prob;
  j["attention_dropout"] = c.attention_probs_dropout_prob;
  j["pad_token_id"] = c.pad_token_id;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["do_layer_norm_before"] = c.do_layer_norm_before;
  j["word_embed_proj_dim"] = c.word_embed_proj_dim;
  j["enable_bias"] = c.attention_bias;
  j["layer_norm_elementwise_affine"] = true;
}

}  // namespace

ConfigCodec opt_config_codec() { return {"opt", "num_attention_heads_per_layer", read_opt, write_opt}; }

}  // namespace lightpeft::models_detail
