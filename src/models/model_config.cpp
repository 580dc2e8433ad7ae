#include "lightpeft/models/model_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/io/atomic_file.h"

namespace lightpeft {
namespace {

using nlohmann::json;

// The keys this struct interprets; everything else goes to extra_json untouched.
const char* const kKnownKeys[] = {
    "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "intermediate_size", "num_attention_heads_per_layer", "intermediate_size_per_layer",
    "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout",
    "max_position_embeddings", "type_vocab_size", "initializer_range", "layer_norm_eps",
    "pad_token_id", "num_labels", "problem_type", "id2label", "label2id",
    "position_embedding_type"};

bool is_known_key(const std::string& key) {
  for (const char* k : kKnownKeys)
    if (key == k) return true;
  return false;
}

std::string type_name(const json& j) { return j.type_name(); }

const json& require(const json& j, const char* key, const std::string& origin) {
  auto it = j.find(key);
  LP_CHECK(it != j.end(), origin, ": missing key '", key, "'");
  return *it;
}

int64_t get_int(const json& j, const char* key, const std::string& origin) {
  const json& v = require(j, key, origin);
  LP_CHECK(v.is_number_integer(), origin, ": key '", key, "': expected an integer, got ",
           type_name(v), " ", v.dump());
  return v.get<int64_t>();
}

int64_t get_int_or(const json& j, const char* key, int64_t fallback, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  return get_int(j, key, origin);
}

double get_double_or(const json& j, const char* key, double fallback, const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const json& v = j[key];
  LP_CHECK(v.is_number(), origin, ": key '", key, "': expected a number, got ", type_name(v), " ",
           v.dump());
  return v.get<double>();
}

std::string get_string_or(const json& j, const char* key, const std::string& fallback,
                          const std::string& origin) {
  if (!j.contains(key) || j[key].is_null()) return fallback;
  const json& v = j[key];
  LP_CHECK(v.is_string(), origin, ": key '", key, "': expected a string, got ", type_name(v), " ",
           v.dump());
  return v.get<std::string>();
}

std::vector<int64_t> get_int_list(const json& j, const char* key, const std::string& origin) {
  const json& v = j.at(key);
  LP_CHECK(v.is_array(), origin, ": key '", key, "': expected a list of integers, got ",
           type_name(v));
  std::vector<int64_t> out;
  for (const auto& e : v) {
    LP_CHECK(e.is_number_integer(), origin, ": key '", key, "': expected integers, got ", e.dump());
    out.push_back(e.get<int64_t>());
  }
  return out;
}

ModelType parse_model_type(const json& j, const std::string& origin) {
  // TF-style bert_config.json has no model_type: it is BERT by definition.
  std::string t = get_string_or(j, "model_type", "bert", origin);
  if (t == "bert") return ModelType::bert;
  if (t == "roberta") return ModelType::roberta;
  throw_error(origin, ": key 'model_type': unsupported model type '", t,
              "' (expected 'bert' or 'roberta')");
}

}  // namespace

std::string to_string(ModelType type) { return type == ModelType::bert ? "bert" : "roberta"; }

std::string to_string(ProblemType type) {
  return type == ProblemType::regression ? "regression" : "single_label_classification";
}

bool ModelConfig::is_pruned() const {
  for (int64_t l = 0; l < num_hidden_layers; ++l)
    if (heads(l) != num_attention_heads || intermediate(l) != intermediate_size) return true;
  return false;
}

ModelConfig parse_model_config(const std::string& json_text, const std::string& origin) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw_error(origin, ": not valid JSON: ", e.what());
  }
  LP_CHECK(j.is_object(), origin, ": expected a JSON object at the top level, got ", type_name(j));

  ModelConfig c;
  c.model_type = parse_model_type(j, origin);
  c.vocab_size = get_int(j, "vocab_size", origin);
  c.hidden_size = get_int(j, "hidden_size", origin);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", origin);
  c.num_attention_heads = get_int(j, "num_attention_heads", origin);
  c.intermediate_size = get_int(j, "intermediate_size", origin);
  c.hidden_act = get_string_or(j, "hidden_act", "gelu", origin);
  c.hidden_dropout_prob = get_double_or(j, "hidden_dropout_prob", 0.1, origin);
  c.attention_probs_dropout_prob = get_double_or(j, "attention_probs_dropout_prob", 0.1, origin);
  c.classifier_dropout = get_double_or(j, "classifier_dropout", -1.0, origin);
  c.max_position_embeddings = get_int_or(j, "max_position_embeddings", 512, origin);
  c.type_vocab_size = get_int_or(j, "type_vocab_size", 2, origin);
  c.initializer_range = get_double_or(j, "initializer_range", 0.02, origin);
  c.layer_norm_eps = get_double_or(j, "layer_norm_eps", 1e-12, origin);
  c.pad_token_id =
      get_int_or(j, "pad_token_id", c.model_type == ModelType::roberta ? 1 : 0, origin);

  std::string pos = get_string_or(j, "position_embedding_type", "absolute", origin);
  LP_CHECK(pos == "absolute", origin, ": key 'position_embedding_type': only 'absolute' is supported, got '",
           pos, "'");

  // Labels: id2label (HF writes {"0": "LABEL_0", ...}) decides num_labels when present.
  if (j.contains("id2label") && !j["id2label"].is_null()) {
    const json& m = j["id2label"];
    LP_CHECK(m.is_object(), origin, ": key 'id2label': expected an object {\"0\": \"name\"}");
    c.id2label.assign(m.size(), "");
    for (auto it = m.begin(); it != m.end(); ++it) {
      int64_t idx = -1;
      try {
        idx = std::stoll(it.key());
      } catch (...) {
      }
      LP_CHECK(idx >= 0 && idx < static_cast<int64_t>(m.size()), origin, ": key 'id2label': key '",
               it.key(), "' is not a label index in [0, ", m.size(), ")");
      LP_CHECK(it.value().is_string(), origin, ": key 'id2label.", it.key(), "': expected a string");
      c.id2label[idx] = it.value().get<std::string>();
    }
    c.num_labels = static_cast<int64_t>(c.id2label.size());
  }
  c.num_labels = get_int_or(j, "num_labels", c.num_labels, origin);
  std::string problem = get_string_or(j, "problem_type", "", origin);
  if (problem == "regression" || (problem.empty() && c.num_labels == 1)) {
    c.problem_type = ProblemType::regression;
  } else if (problem.empty() || problem == "single_label_classification") {
    c.problem_type = ProblemType::single_label_classification;
  } else {
    throw_error(origin, ": key 'problem_type': unsupported '", problem,
                "' (expected 'single_label_classification' or 'regression')");
  }
  if (!c.id2label.empty() && static_cast<int64_t>(c.id2label.size()) != c.num_labels) c.id2label.clear();

  // Checked before the per-layer tables below are sized by it.
  constexpr int64_t kMaxLayers = 1024;
  LP_CHECK(c.num_hidden_layers <= kMaxLayers, origin, ": key 'num_hidden_layers': ", c.num_hidden_layers,
           " layers is beyond the supported ", kMaxLayers);
  c.heads_per_layer = j.contains("num_attention_heads_per_layer")
                          ? get_int_list(j, "num_attention_heads_per_layer", origin)
                          : std::vector<int64_t>(std::max<int64_t>(c.num_hidden_layers, 0),
                                                 c.num_attention_heads);
  c.intermediate_per_layer = j.contains("intermediate_size_per_layer")
                                 ? get_int_list(j, "intermediate_size_per_layer", origin)
                                 : std::vector<int64_t>(std::max<int64_t>(c.num_hidden_layers, 0),
                                                        c.intermediate_size);

  json extra = json::object();
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!is_known_key(it.key())) extra[it.key()] = it.value();
  c.extra_json = extra.dump();

  validate_model_config(c, origin);
  return c;
}

void validate_model_config(const ModelConfig& c, const std::string& origin) {
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
  LP_CHECK(c.type_vocab_size >= 0, origin, ": key 'type_vocab_size': expected >= 0");
  LP_CHECK(c.hidden_size % c.num_attention_heads == 0, origin, ": key 'hidden_size': ",
           c.hidden_size, " is not divisible by num_attention_heads ", c.num_attention_heads);
  LP_CHECK(c.pad_token_id >= 0 && c.pad_token_id < c.vocab_size, origin,
           ": key 'pad_token_id': ", c.pad_token_id, " is outside the vocabulary [0, ", c.vocab_size,
           ")");
  LP_CHECK(static_cast<int64_t>(c.heads_per_layer.size()) == c.num_hidden_layers, origin,
           ": key 'num_attention_heads_per_layer': expected ", c.num_hidden_layers,
           " entries (one per layer), got ", c.heads_per_layer.size());
  LP_CHECK(static_cast<int64_t>(c.intermediate_per_layer.size()) == c.num_hidden_layers, origin,
           ": key 'intermediate_size_per_layer': expected ", c.num_hidden_layers,
           " entries (one per layer), got ", c.intermediate_per_layer.size());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    LP_CHECK(c.heads_per_layer[l] >= 0 && c.heads_per_layer[l] <= c.num_attention_heads, origin,
             ": key 'num_attention_heads_per_layer': layer ", l, " has ", c.heads_per_layer[l],
             " heads, expected 0..", c.num_attention_heads);
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
  if (c.model_type == ModelType::roberta) {
    // RoBERTa positions start at pad_token_id + 1, so the table must hold them.
    LP_CHECK(c.max_position_embeddings > c.pad_token_id + 1, origin,
             ": key 'max_position_embeddings': RoBERTa needs more than pad_token_id + 1 = ",
             c.pad_token_id + 1, " positions");
  }
}

ModelConfig load_model_config(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
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
  json j = json::parse(c.extra_json);
  j["model_type"] = to_string(c.model_type);
  if (!j.contains("architectures")) {
    j["architectures"] = {c.model_type == ModelType::bert ? "BertForSequenceClassification"
                                                          : "RobertaForSequenceClassification"};
  }
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
    j["num_attention_heads_per_layer"] = c.heads_per_layer;
    j["intermediate_size_per_layer"] = c.intermediate_per_layer;
  }
  return j.dump(2) + "\n";
}

void save_model_config(const ModelConfig& config, const std::filesystem::path& file) {
  write_text_atomic(file, model_config_to_json(config));
}

}  // namespace lightpeft
