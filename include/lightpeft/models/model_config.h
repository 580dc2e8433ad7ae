#pragma once
// The architecture of a BERT-family encoder, read from HF `config.json` (or TF-style
// `bert_config.json`) and validated up front. Head counts and FFN widths are per layer from the start,
// because a pruned model has different ones in every layer.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace lightpeft {

enum class ModelType { bert, roberta };
enum class ProblemType { single_label_classification, regression };

std::string to_string(ModelType type);
std::string to_string(ProblemType type);

struct ModelConfig {
  ModelType model_type = ModelType::bert;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;  // of the unpruned model: fixes the head size
  int64_t intermediate_size = 0;    // of the unpruned model
  // Per layer (size num_hidden_layers); equal to the two above unless the model was pruned.
  std::vector<int64_t> heads_per_layer;
  std::vector<int64_t> intermediate_per_layer;
  std::string hidden_act = "gelu";  // gelu (erf), gelu_new / gelu_pytorch_tanh, relu, silu
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double classifier_dropout = -1.0;  // < 0: use hidden_dropout_prob (HF's None)
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double initializer_range = 0.02;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  int64_t num_labels = 2;
  ProblemType problem_type = ProblemType::single_label_classification;
  std::vector<std::string> id2label;  // empty: LABEL_0..LABEL_{n-1}
  // Keys we do not interpret, kept so that save(load(x)) keeps them (JSON text of an object).
  std::string extra_json = "{}";

  int64_t head_size() const { return hidden_size / num_attention_heads; }
  int64_t heads(int64_t layer) const { return heads_per_layer.at(layer); }
  int64_t intermediate(int64_t layer) const { return intermediate_per_layer.at(layer); }
  // True when some layer has fewer heads or FFN neurons than the unpruned model.
  bool is_pruned() const;
};

// Parses config JSON text; `origin` names the file in error messages. Throws lightpeft::Error naming
// the file and key for a missing or ill-typed key, an unknown model_type, or inconsistent sizes.
ModelConfig parse_model_config(const std::string& json_text, const std::string& origin);
// Reads DIR/config.json or DIR/bert_config.json, or the given file.
ModelConfig load_model_config(const std::filesystem::path& path);
// HF-compatible JSON (HF transformers reads it; the per-layer lists are extra keys it ignores).
std::string model_config_to_json(const ModelConfig& config);
void save_model_config(const ModelConfig& config, const std::filesystem::path& file);
// Checks sizes and options; throws lightpeft::Error naming `origin` and the offending key.
void validate_model_config(const ModelConfig& config, const std::string& origin);

}  // namespace lightpeft
