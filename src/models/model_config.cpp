#include "lightpeft/io/model_path.h"
#include "lightpeft/models/model_config.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "configs/config_codec.h"
#include "lightpeft/core/error.h"
#include "lightpeft/io/atomic_file.h"

namespace lightpeft {
namespace {

using nlohmann::json;
using models_detail::ConfigReader;

// A layer count beyond any real model: checked before per-layer tables are sized by it.
constexpr int64_t kMaxLayers = 1024;

// Labels: id2label (HF writes {"0": "LABEL_0", ...}) decides num_labels when present.
void read_labels(ConfigReader& in, ModelConfig& c) {
  if (const json* m = in.value("id2label")) {
    if (!m->is_object()) in.fail("id2label", "expected an object {\"0\": \"name\"}");
    c.id2label.assign(m->size(), "");
    for (auto it = m->begin(); it != m->end(); ++it) {
      int64_t idx = -1;
      try {
        idx = std::stoll(it.key());
      } catch (...) {
      }
      if (idx < 0 || idx >= static_cast<int64_t>(m->size()))
        in.fail("id2label", "key '" + it.key() + "' is not a label index in [0, " +
                                std::to_string(m->size()) + ")");
      if (!it.value().is_string()) in.fail("id2label", "key '" + it.key() + "': expected a string");
      c.id2label[idx] = it.value().get<std::string>();
    }
    c.num_labels = static_cast<int64_t>(c.id2label.size());
  }
  in.consume("label2id");
  c.num_labels = in.integer("num_labels", c.num_labels);
  const std::string problem = in.string("problem_type", "");
  if (problem == "regression" || (problem.empty() && c.num_labels == 1)) {
    c.problem_type = ProblemType::regression;
  } else if (problem.empty() || problem == "single_label_classification") {
    c.problem_type = ProblemType::single_label_classification;
  } else {
    in.fail("problem_type", "unsupported '" + problem +
                                "' (expected 'single_label_classification' or 'regression')");
  }
  if (!c.id2label.empty() && static_cast<int64_t>(c.id2label.size()) != c.num_labels) c.id2label.clear();
}

// bos/eos ids: an integer, a list (eos of LLaMA 3) or null.
void read_special_ids(ConfigReader& in, ModelConfig& c) {
  c.bos_token_id = in.integer("bos_token_id", -1);
  if (const json* e = in.value("eos_token_id")) {
    if (e->is_number_integer()) {
      c.eos_token_ids = {e->get<int64_t>()};
    } else if (e->is_array()) {
      for (const auto& id : *e) {
        if (!id.is_number_integer()) in.fail("eos_token_id", "expected integers, got " + id.dump());
        c.eos_token_ids.push_back(id.get<int64_t>());
      }
    } else {
      in.fail("eos_token_id", std::string("expected an integer or a list, got ") + e->type_name());
    }
  }
}

}  // namespace

std::string to_string(ProblemType type) {
  return type == ProblemType::regression ? "regression" : "single_label_classification";
}

bool ModelConfig::is_pruned() const {
  for (int64_t l = 0; l < num_hidden_layers; ++l)
    if (attention_units(l) != key_value_heads() || intermediate(l) != intermediate_size) return true;
  return false;
}

bool ModelConfig::is_random_init() const {
  return extra_json.find("\"lightpeft_random_init\":true") != std::string::npos;
}

std::vector<std::string> supported_model_types() {
  std::vector<std::string> out;
  for (const auto& c : models_detail::config_codecs()) out.push_back(c.model_type);
  std::sort(out.begin(), out.end());
  return out;
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& origin) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw_error(origin, ": not valid JSON: ", e.what());
  }
  LP_CHECK(j.is_object(), origin, ": expected a JSON object at the top level, got ", j.type_name());

  ConfigReader in(j, origin);
  ModelConfig c;
  c.model_type = in.string("model_type", "bert");  // TF-style bert_config.json has none
  const auto& codec = models_detail::config_codec(c.model_type, origin);
  codec.read(in, c);
  read_labels(in, c);
  read_special_ids(in, c);
  LP_CHECK(c.num_hidden_layers <= kMaxLayers, origin, ": key 'num_hidden_layers': ",
           c.num_hidden_layers, " layers is beyond the supported ", kMaxLayers);
  const auto layers = static_cast<size_t>(std::max<int64_t>(c.num_hidden_layers, 0));
  c.attention_units_per_layer = in.int_list(codec.units_per_layer_key)
                                    .value_or(std::vector<int64_t>(layers, c.key_value_heads()));
  c.intermediate_per_layer = in.int_list("intermediate_size_per_layer")
                                 .value_or(std::vector<int64_t>(layers, c.intermediate_size));
  c.extra_json = in.unread_keys();
  validate_model_config(c, origin);
  return c;
}

void validate_model_config(const ModelConfig& c, const std::string& origin) {
  const auto& codec = models_detail::config_codec(c.model_type, origin);
  auto positive = [&](int64_t v, const char* key) {
    LP_CHECK(v > 0, origin, ": key '", key, "': expected a positive integer, got ", v);
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.hidden_size, "hidden_size");
  positive(c.num_hidden_layers, "num_hidden_layers");
  positive(c.num_attention_heads, "num_attention_heads");
  positive(c.intermediate_size, "intermediate_size");
  positive(c.max_position_embeddings, "max_position_embeddings");
  positive(c.num_labels, "num_labels");
  LP_CHECK(c.num_hidden_layers <= kMaxLayers, origin, ": key 'num_hidden_layers': ",
           c.num_hidden_layers, " layers is beyond the supported ", kMaxLayers);
  LP_CHECK(c.type_vocab_size >= 0, origin, ": key 'type_vocab_size': expected >= 0");
  LP_CHECK(c.head_dim >= 0, origin, ": key 'head_dim': expected >= 0");
  if (c.head_dim == 0)
    LP_CHECK(c.hidden_size % c.num_attention_heads == 0, origin, ": key 'hidden_size': ",
             c.hidden_size, " is not divisible by num_attention_heads ", c.num_attention_heads);
  LP_CHECK(c.num_key_value_heads >= 0 && c.num_attention_heads % c.key_value_heads() == 0, origin,
           ": key 'num_key_value_heads': ", c.num_key_value_heads,
           " does not divide num_attention_heads ", c.num_attention_heads);
  LP_CHECK(c.pad_token_id >= -1 && c.pad_token_id < c.vocab_size, origin, ": key 'pad_token_id': ",
           c.pad_token_id, " is outside the vocabulary [0, ", c.vocab_size, ")");
  LP_CHECK(static_cast<int64_t>(c.attention_units_per_layer.size()) == c.num_hidden_layers, origin,
           ": key '", codec.units_per_layer_key, "': expected ", c.num_hidden_layers,
           " entries (one per layer), got ", c.attention_units_per_layer.size());
  LP_CHECK(static_cast<int64_t>(c.intermediate_per_layer.size()) == c.num_hidden_layers, origin,
           ": key 'intermediate_size_per_layer': expected ", c.num_hidden_layers,
           " entries (one per layer), got ", c.intermediate_per_layer.size());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LP_CHECK(c.attention_units_per_layer[l] >= 0 &&
                 c.attention_units_per_layer[l] <= c.key_value_heads(),
             origin, ": key '", codec.units_per_layer_key, "': layer ", l, " has ",
             c.attention_units_per_layer[l], " attention units, expected 0..", c.key_value_heads());
    LP_CHECK(c.intermediate_per_layer[l] >= 0 && c.intermediate_per_layer[l] <= c.intermediate_size,
             origin, ": key 'intermediate_size_per_layer': layer ", l, " has ",
             c.intermediate_per_layer[l], " neurons, expected 0..", c.intermediate_size);
  }
  const std::string& a = c.hidden_act;
  LP_CHECK(a == "gelu" || a == "gelu_new" || a == "gelu_pytorch_tanh" || a == "relu" || a == "silu" ||
               a == "swish",
           origin, ": key 'hidden_act': unsupported activation '", a,
           "' (expected gelu, gelu_new, gelu_pytorch_tanh, relu or silu)");
  auto prob = [&](double p, const char* key) {
    LP_CHECK(p >= 0.0 && p < 1.0, origin, ": key '", key, "': expected a probability in [0, 1), got ", p);
  };
  prob(c.hidden_dropout_prob, "hidden_dropout_prob");
  prob(c.attention_probs_dropout_prob, "attention_probs_dropout_prob");
  if (c.classifier_dropout >= 0) prob(c.classifier_dropout, "classifier_dropout");
  LP_CHECK(c.layer_norm_eps > 0, origin, ": key 'layer_norm_eps': expected > 0");
  LP_CHECK(c.rope_theta > 0, origin, ": key 'rope_theta': expected > 0");
  LP_CHECK(c.word_embed_proj_dim >= 0, origin, ": key 'word_embed_proj_dim': expected >= 0");
  if (c.model_type == "roberta") {
    // RoBERTa positions start at pad_token_id + 1, so the table must hold them.
    LP_CHECK(c.max_position_embeddings > c.pad_token_id + 1, origin,
             ": key 'max_position_embeddings': RoBERTa needs more than pad_token_id + 1 = ",
             c.pad_token_id + 1, " positions");
  }
}

ModelConfig load_model_config(const std::filesystem::path& model_path) {
  namespace fs = std::filesystem;
  const fs::path path = resolve_model_dir(model_path);  // a GGUF: its converted folder
  fs::path file = path;
  if (fs::is_directory(path)) {
    file = path / "config.json";
    if (!fs::exists(file)) file = path / "bert_config.json";
    LP_CHECK(fs::exists(file), path.string(), ": no config.json (or bert_config.json) in this directory");
  }
  std::ifstream in(file, std::ios::binary);
  LP_CHECK(in.good(), file.string(), ": cannot open the model config");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_model_config(ss.str(), file.string());
}

std::string model_config_to_json(const ModelConfig& c) {
  const auto& codec = models_detail::config_codec(c.model_type, "model config");
  json j = json::parse(c.extra_json);
  j["model_type"] = c.model_type;
  codec.write(c, j);
  if (c.bos_token_id >= 0) j["bos_token_id"] = c.bos_token_id;
  if (c.eos_token_ids.size() == 1) j["eos_token_id"] = c.eos_token_ids[0];
  if (c.eos_token_ids.size() > 1) j["eos_token_id"] = c.eos_token_ids;
  j["problem_type"] = to_string(c.problem_type);
  json id2label = json::object(), label2id = json::object();
  for (int64_t i = 0; i < c.num_labels; ++i) {
    std::string name = i < static_cast<int64_t>(c.id2label.size()) ? c.id2label[i]
                                                                    : "LABEL_" + std::to_string(i);
    id2label[std::to_string(i)] = name;
    label2id[name] = i;
  }
  j["id2label"] = id2label;
  j["label2id"] = label2id;
  if (c.is_pruned()) {
    j[codec.units_per_layer_key] = c.attention_units_per_layer;
    j["intermediate_size_per_layer"] = c.intermediate_per_layer;
  }
  return j.dump(2) + "\n";
}

void save_model_config(const ModelConfig& config, const std::filesystem::path& file) {
  write_text_atomic(file, model_config_to_json(config));
}

}  // namespace lightpeft
