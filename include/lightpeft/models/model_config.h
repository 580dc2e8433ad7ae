#pragma once
// The architecture of a model, read from HF `config.json` (or TF-style `bert_config.json`) and
// validated up front. One struct for every family: the transformer's shape under HF's generic names
// (families whose config.json spells them otherwise, GPT-2's n_embd or OPT's ffn_dim, are mapped on
// reading and writing by the family's config codec), plus the few options a family adds. Attention
// units and MLP widths are per layer from the start, because a pruned model has different ones in
// every layer. Torch-free: the fuzzers parse configs without building a model.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lightpeft {

enum class ProblemType { single_label_classification, regression };
std::string to_string(ProblemType type);

// HF `rope_scaling` (LLaMA family): "default" (none), "linear" (positions / factor) or "llama3"
// (Llama 3.1's frequency-dependent scaling).
struct RopeScaling {
  std::string rope_type = "default";
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 0;
};

struct ModelConfig {
  std::string model_type = "bert";  // the family (models/family.h); "bert" for a TF-style config
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;  // query heads of the unpruned model: fixes the head size
  int64_t num_key_value_heads = 0;  // key/value heads (grouped-query attention); 0: = heads (MHA)
  int64_t head_dim = 0;             // 0: hidden_size / num_attention_heads
  int64_t intermediate_size = 0;    // MLP width of the unpruned model
  // Per layer (size num_hidden_layers): attention units (a head for MHA, a KV group with the
  // query heads that read it for GQA) and MLP neurons. Equal to key_value_heads() and
  // intermediate_size unless the model was pruned.
  std::vector<int64_t> attention_units_per_layer;
  std::vector<int64_t> intermediate_per_layer;
  std::string hidden_act = "gelu";  // gelu (erf), gelu_new / gelu_pytorch_tanh, relu, silu
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double classifier_dropout = -1.0;  // < 0: use hidden_dropout_prob (HF's None)
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;  // LayerNorm or RMSNorm epsilon (HF rms_norm_eps)
  int64_t pad_token_id = 0;       // -1: the model has none
  int64_t bos_token_id = -1;
  std::vector<int64_t> eos_token_ids;  // generation stops at any of them (LLaMA 3 has several)
  bool tie_word_embeddings = false;  // decoders: lm_head shares the input embedding
  // LLaMA family.
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;  // q/k/v/o biases (OPT and GPT-2 always have them)
  bool mlp_bias = false;
  // OPT.
  bool do_layer_norm_before = true;  // pre-LN (all OPT sizes but 350m)
  int64_t word_embed_proj_dim = 0;   // 0: hidden_size; otherwise project_in / project_out exist
  // Heads.
  int64_t num_labels = 2;
  ProblemType problem_type = ProblemType::single_label_classification;
  std::vector<std::string> id2label;  // empty: LABEL_0..LABEL_{n-1}
  // Keys we do not interpret, kept so that save(load(x)) keeps them (JSON text of an object).
  std::string extra_json = "{}";

  int64_t head_size() const { return head_dim > 0 ? head_dim : hidden_size / num_attention_heads; }
  // Attention units of the unpruned model: its key/value heads.
  int64_t key_value_heads() const { return num_key_value_heads > 0 ? num_key_value_heads : num_attention_heads; }
  // Query heads per attention unit (1 for MHA; the GQA group size).
  int64_t heads_per_unit() const { return num_attention_heads / key_value_heads(); }
  int64_t attention_units(int64_t layer) const { return attention_units_per_layer.at(layer); }
  int64_t intermediate(int64_t layer) const { return intermediate_per_layer.at(layer); }
  // True when some layer has fewer attention units or MLP neurons than the unpruned model.
  bool is_pruned() const;
  // True when the config was written by `lightpeft init-model` (random weights).
  bool is_random_init() const;
};

// Parses config JSON text; `origin` names the file in error messages. The family of `model_type`
// reads its own keys (an unknown model_type is an error listing the supported ones). Throws
// lightpeft::Error naming the file and key for a missing or ill-typed key or inconsistent sizes.
ModelConfig parse_model_config(const std::string& json_text, const std::string& origin);
// Reads DIR/config.json or DIR/bert_config.json, or the given file.
ModelConfig load_model_config(const std::filesystem::path& path);
// HF-compatible JSON in the family's own key names (HF transformers reads it; the per-layer lists
// of a pruned model are extra keys it ignores).
std::string model_config_to_json(const ModelConfig& config);
void save_model_config(const ModelConfig& config, const std::filesystem::path& file);
// Checks sizes and options; throws lightpeft::Error naming `origin` and the offending key.
void validate_model_config(const ModelConfig& config, const std::string& origin);
// The model_type values parse_model_config reads, sorted.
std::vector<std::string> supported_model_types();

}  // namespace lightpeft
