// config.json of GPT-2 (HF GPT2Config): n_embd, n_head, n_layer, n_positions, n_inner (null: 4 x
// n_embd), one dropout for residuals and one for embeddings (both resid_pdrop's value in practice).
#include "config_codec.h"

namespace lightpeft::models_detail {
namespace {

void read_gpt2(ConfigReader& in, ModelConfig& c) {
  c.vocab_size = in.integer("vocab_size");
  c.hidden_size = in.integer("n_embd");
  c.num_hidden_layers = in.integer("n_layer");
  c.num_attention_heads = in.integer("n_head");
  c.num_key_value_heads = c.num_attention_heads;
  c.intermediate_size = in.integer("n_inner", 4 * c.hidden_size);
  c.hidden_act = in.string("activation_function", "gelu_new");
  c.max_position_embeddings = in.integer("n_positions", 1024);
  c.initializer_range = in.number("initializer_range", 0.02);
  c.hidden_dropout_prob = in.number("resid_pdrop", 0.1);
  const double embd = in.number("embd_pdrop", 0.1);
  if (embd != c.hidden_dropout_prob)
    in.fail("embd_pdrop", "must equal resid_pdrop (lightpeft uses one hidden dropout)");
  c.attention_probs_dropout_prob = in.number("attn_pdrop", 0.1);
  c.layer_norm_eps = in.number("layer_norm_epsilon", 1e-5);
  c.pad_token_id = in.integer("pad_token_id", -1);
  c.tie_word_embeddings = in.boolean("tie_word_embeddings", true);
  c.attention_bias = c.mlp_bias = true;
  c.type_vocab_size = 0;
  if (!in.boolean("scale_attn_weights", true)) in.fail("scale_attn_weights", "only true is supported");
  if (in.boolean("scale_attn_by_inverse_layer_idx", false))
    in.fail("scale_attn_by_inverse_layer_idx", "only false is supported");
  in.boolean("reorder_and_upcast_attn", false);  // the same math in fp32
}

void write_gpt2(const ModelConfig& c, nlohmann::json& j) {
  j["vocab_size"] = c.vocab_size;
  j["n_embd"] = c.hidden_size;
  j["n_layer"] = c.num_hidden_layers;
  j["n_head"] = c.num_attention_heads;
  j["n_inner"] = c.intermediate_size;
  j["activation_function"] = c.hidden_act;
  j["n_positions"] = c.max_position_embeddings;
  j["initializer_range"] = c.initializer_range;
  j["resid_pdrop"] = c.hidden_dropout_prob;
  j["embd_pdrop"] = c.hidden_dropout_prob;
  j["attn_pdrop"] = c.attention_probs_dropout_prob;
  j["layer_norm_epsilon"] = c.layer_norm_eps;
  j["pad_token_id"] = c.pad_token_id >= 0 ? nlohmann::json(c.pad_token_id) : nlohmann::json(nullptr);
  j["tie_word_embeddings"] = c.tie_word_embeddings;
}

}  // namespace

ConfigCodec gpt2_config_codec() { return {"gpt2", "num_attention_heads_per_layer", read_gpt2, write_gpt2}; }

}  // namespace lightpeft::models_detail
