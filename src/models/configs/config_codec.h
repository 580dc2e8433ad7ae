#pragma once
// How a family's config.json maps onto ModelConfig (private to src/models). HF keeps one
// configuration_<family>.py per family; here each family has one codec (configs/<family>.cpp) that
// reads and writes its own keys, and config_codecs() lists them, one line each. Torch-free.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lightpeft/models/model_config.h"

namespace lightpeft::models_detail {

// A config.json object being read: typed getters whose errors name the file and key, and a record
// of the keys read, so that everything else is kept verbatim as extra_json.
class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& object, std::string origin);

  int64_t integer(const char* key);  // required
  int64_t integer(const char* key, int64_t fallback);
  double number(const char* key, double fallback);
  std::string string(const char* key, const std::string& fallback);
  bool boolean(const char* key, bool fallback);
  // Absent (or null): nullopt.
  std::optional<std::vector<int64_t>> int_list(const char* key);
  // The value or null, marked as read.
  const nlohmann::json* value(const char* key);
  // Marks a key as interpreted without reading it (e.g. label2id, rebuilt from id2label).
  void consume(const char* key) { used_.insert(key); }

  // The keys not read, as a JSON object's text.
  std::string unread_keys() const;
  const std::string& origin() const { return origin_; }
  [[noreturn]] void fail(const char* key, const std::string& message) const;

 private:
  const nlohmann::json& object_;
  std::string origin_;
  std::set<std::string> used_;
};

struct ConfigCodec {
  const char* model_type;
  // The config keys of the per-layer attention-unit counts a pruned model writes.
  const char* units_per_layer_key;
  void (*read)(ConfigReader& in, ModelConfig& out);
  void (*write)(const ModelConfig& in, nlohmann::json& out);
};

// One line per family (configs/codecs.cpp).
const std::vector<ConfigCodec>& config_codecs();
// The codec of `model_type`; throws naming `origin` and listing the supported types.
const ConfigCodec& config_codec(const std::string& model_type, const std::string& origin);

// Each family's codec (configs/<family>.cpp).
ConfigCodec bert_config_codec();
ConfigCodec roberta_config_codec();
ConfigCodec llama_config_codec();
ConfigCodec mistral_config_codec();
ConfigCodec opt_config_codec();
ConfigCodec gpt2_config_codec();

// The keys every encoder in BERT's naming shares (BERT, RoBERTa).
void read_bert_keys(ConfigReader& in, ModelConfig& c, int64_t default_pad);
void write_bert_keys(const ModelConfig& c, nlohmann::json& j);

}  // namespace lightpeft::models_detail
