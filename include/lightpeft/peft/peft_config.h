#pragma once
// What a user sets to add PEFT to a model, with HF PEFT's names and meanings (peft 0.21
// LoraConfig), plus the bottleneck-adapter config of LLM-Adapters' BottleneckConfig that Light-PEFT
// vendors. Read from and written to adapter_config.json; validated up front with errors naming the
// key.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lightpeft {

// HF `target_modules` (also `exclude_modules`): either a list, where a module matches when its path
// equals an entry or ends with "." + entry, or one regex string that must match the whole path.
struct TargetModules {
  std::vector<std::string> names;
  std::string regex;  // non-empty: regex mode (names is then unused)

  static TargetModules list(std::vector<std::string> names);
  static TargetModules pattern(std::string regex);
  bool is_regex() const { return !regex.empty(); }
  bool empty() const { return names.empty() && regex.empty(); }
};

// HF rank_pattern / alpha_pattern: key -> value, in file order; the first key k such that the
// module path fully matches the regex `(.*\.)?(k)` wins (HF's get_pattern_key).
template <typename T>
using PatternMap = std::vector<std::pair<std::string, T>>;

enum class PeftType { lora, bottleneck };
std::string to_string(PeftType type);  // "LORA", "BOTTLENECK" (adapter_config.json's peft_type)

struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8.0;
  double lora_dropout = 0.0;
  TargetModules target_modules;
  // Only layers with these indices (parsed from the path, "...layer.<i>....") get LoRA; empty: all.
  // As in HF, it applies to list targets only (a regex target says everything itself).
  std::vector<int64_t> layers_to_transform;
  TargetModules exclude_modules;
  // Modules kept fully trainable and saved with the adapter. For SEQ_CLS, HF adds "classifier" and
  // "score" (inject does the same).
  std::vector<std::string> modules_to_save;
  PatternMap<int64_t> rank_pattern;  // a rank 0 means no LoRA on that module
  PatternMap<double> alpha_pattern;
  bool use_rslora = false;
  // The base weights are stored (in, out), as GPT-2's Conv1D: set by injection from the base layer
  // (HF PEFT does the same), read and written so that adapter_config.json says what HF expects.
  bool fan_in_fan_out = false;
  std::string bias = "none";  // the only value supported (base biases stay frozen)
  std::string task_type = "SEQ_CLS";
  std::string base_model_name_or_path;
};

struct AdapterConfig {
  int64_t bottleneck_size = 8;
  std::string non_linearity = "relu";
  double adapter_dropout = 0.1;
  double scaling = 1.0;
  std::string init_weights = "bert";  // "bert": N(0, 0.02); "zero_up": up-projection zeros
  // Houlsby by default: with suffix matching "output.dense" hits attention.output.dense and the
  // FFN output.dense of every layer.
  TargetModules target_modules = TargetModules::list({"output.dense"});
  std::vector<int64_t> layers_to_transform;
  TargetModules exclude_modules;
  std::vector<std::string> modules_to_save;
  PatternMap<int64_t> rank_pattern;  // per-module bottleneck width
  std::string task_type = "SEQ_CLS";
  std::string base_model_name_or_path;
};

// Light-PEFT's LoRA (spec defaults table): r 8, alpha 16, dropout 0.05 on all six linears of every
// layer: query, key, value, attention.output.dense, intermediate.dense, output.dense.
LoraConfig light_peft_lora_config();
// The plain LoRA baseline: the same r/alpha/dropout on query and value only.
LoraConfig lora_baseline_config();
// Bottleneck adapters, width 8, ReLU, dropout 0.1, scaling 1, N(0, 0.02) init (spec table):
// Houlsby after attention.output.dense and the FFN output.dense, Pfeiffer after the FFN output only.
AdapterConfig houlsby_adapter_config();
AdapterConfig pfeiffer_adapter_config();

// Throw lightpeft::Error naming `origin` and the key for a value HF PEFT would refuse or that we do
// not support (bias other than "none", r < 1, dropout outside [0, 1), an invalid regex, ...).
void validate_lora_config(const LoraConfig& config, const std::string& origin);
void validate_adapter_config(const AdapterConfig& config, const std::string& origin);

// adapter_config.json text. peft_type_of reads only "peft_type" and throws for an unknown one.
PeftType peft_type_of(const std::string& json_text, const std::string& origin);
LoraConfig parse_lora_config(const std::string& json_text, const std::string& origin);
AdapterConfig parse_adapter_config(const std::string& json_text, const std::string& origin);
// JSON as HF PEFT 0.21 writes it (sorted keys, its defaults for the fields we do not model), so
// PeftModel.from_pretrained reads it.
std::string lora_config_to_json(const LoraConfig& config);
std::string adapter_config_to_json(const AdapterConfig& config);

}  // namespace lightpeft
