#include "lightpeft/peft/peft_config.h"

#include <cmath>
#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"

namespace lightpeft {
namespace {

using Json = nlohmann::ordered_json;  // keeps rank_pattern/alpha_pattern in file order

const std::vector<std::string> kSixLinears = {"query", "key", "value", "attention.output.dense",
                                               "intermediate.dense", "output.dense"};

// Repeat counts ("{n}", "{n,m}") and backreference numbers ("\\n") above this are refused before
// std::regex sees them: libstdc++ reads their digits into a long without an overflow check
// (undefined behaviour, found by fuzzing, for both) and expands a count into that many copies of
// the repeated automaton (a huge count hangs).
constexpr int64_t kMaxRegexRepeat = 1000;

void check_regex_repeats(const std::string& pattern, const std::string& origin, const std::string& key) {
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\') {  // an escape: a backreference's digits, or one escaped character skipped
      size_t end = i + 1;
      while (end < pattern.size() && pattern[end] >= '0' && pattern[end] <= '9') ++end;
      const std::string digits = pattern.substr(i + 1, end - i - 1);
      if (digits.size() > 4 || (!digits.empty() && std::stoll(digits) > kMaxRegexRepeat))
        throw_error(origin, ": key '", key, "': regular expression \"", pattern, "\": backreference \\", digits,
                    " is above ", kMaxRegexRepeat);
      i = digits.empty() ? i + 1 : end - 1;
      continue;
    }
    if (pattern[i] != '{') continue;
    for (size_t j = i + 1; j < pattern.size();) {
      size_t end = j;
      while (end < pattern.size() && pattern[end] >= '0' && pattern[end] <= '9') ++end;
      const std::string digits = pattern.substr(j, end - j);
      if (digits.size() > 4 || (!digits.empty() && std::stoll(digits) > kMaxRegexRepeat))
        throw_error(origin, ": key '", key, "': regular expression \"", pattern, "\": repeat count ", digits,
                    " is above ", kMaxRegexRepeat);
      if (end < pattern.size() && pattern[end] == ',' && end > j) {
        j = end + 1;  // the upper bound of "{n,m}"
        continue;
      }
      break;
    }
  }
}

void check_regex(const std::string& pattern, const std::string& origin, const std::string& key) {
  check_regex_repeats(pattern, origin, key);
  try {
    std::regex re(pattern);
  } catch (const std::regex_error& e) {
    throw_error(origin, ": key '", key, "': invalid regular expression \"", pattern, "\": ", e.what());
  }
}

void validate_targets(const TargetModules& t, const std::string& origin, const std::string& key,
                      bool required) {
  if (required) LP_CHECK(!t.empty(), origin, ": key '", key, "': must name at least one module");
  if (t.is_regex()) check_regex(t.regex, origin, key);
  for (const auto& n : t.names)
    LP_CHECK(!n.empty(), origin, ": key '", key, "': empty module name");
}

template <typename T>
void validate_pattern_keys(const PatternMap<T>& patterns, const std::string& origin,
                           const std::string& key) {
  for (const auto& kv : patterns) {
    LP_CHECK(!kv.first.empty(), origin, ": key '", key, "': empty pattern");
    check_regex("(.*\\.)?(" + kv.first + ")", origin, key + "." + kv.first);
  }
}

void validate_common(const TargetModules& targets, const TargetModules& exclude,
                     const std::vector<int64_t>& layers, const PatternMap<int64_t>& ranks,
                     const std::string& task_type, const std::string& origin) {
  validate_targets(targets, origin, "target_modules", /*required=*/true);
  validate_targets(exclude, origin, "exclude_modules", /*required=*/false);
  for (int64_t l : layers)
    LP_CHECK(l >= 0, origin, ": key 'layers_to_transform': layer index ", l, " is negative");
  validate_pattern_keys(ranks, origin, "rank_pattern");
  for (const auto& kv : ranks)
    LP_CHECK(kv.second >= 0, origin, ": key 'rank_pattern.", kv.first, "': rank ", kv.second,
             " is negative");
  // The task types of lightpeft's heads (what effective_modules_to_save distinguishes).
  LP_CHECK(task_type.empty() || task_type == "SEQ_CLS" || task_type == "CAUSAL_LM" ||
               task_type == "QUESTION_ANS",
           origin, ": key 'task_type': \"", task_type,
           "\" is not supported (expected \"SEQ_CLS\", \"CAUSAL_LM\" or \"QUESTION_ANS\")");
}

// ---- reading ----------------------------------------------------------------------------------

Json parse_json(const std::string& text, const std::string& origin) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw_error(origin, ": not valid JSON: ", e.what());
  }
}

bool present(const Json& j, const char* key) { return j.contains(key) && !j.at(key).is_null(); }

[[noreturn]] void type_error(const std::string& origin, const std::string& key,
                             const std::string& expected, const Json& got) {
  throw_error(origin, ": key '", key, "': expected ", expected, ", got ", got.dump());
}

int64_t get_int(const Json& j, const char* key, int64_t fallback, const std::string& origin) {
  if (!present(j, key)) return fallback;
  const auto& v = j.at(key);
  if (v.is_number_integer()) return v.get<int64_t>();
  // 8.0 is 8; a float beyond 2^53 is not an exact integer (and its cast to int64 may be undefined).
  if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() && std::fabs(v.get<double>()) <= 0x1p53)
    return static_cast<int64_t>(v.get<double>());
  type_error(origin, key, "an integer", v);
}

double get_number(const Json& j, const char* key, double fallback, const std::string& origin) {
  if (!present(j, key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number()) type_error(origin, key, "a number", v);
  return v.get<double>();
}

bool get_bool(const Json& j, const char* key, bool fallback, const std::string& origin) {
  if (!present(j, key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_boolean()) type_error(origin, key, "true or false", v);
  return v.get<bool>();
}

std::string get_string(const Json& j, const char* key, const std::string& fallback,
                       const std::string& origin) {
  if (!present(j, key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_string()) type_error(origin, key, "a string", v);
  return v.get<std::string>();
}

std::vector<std::string> get_strings(const Json& j, const char* key, const std::string& origin) {
  std::vector<std::string> out;
  if (!present(j, key)) return out;
  const auto& v = j.at(key);
  if (!v.is_array()) type_error(origin, key, "a list of strings", v);
  for (const auto& e : v) {
    if (!e.is_string()) type_error(origin, key, "a list of strings", v);
    out.push_back(e.get<std::string>());
  }
  return out;
}

TargetModules get_targets(const Json& j, const char* key, const std::string& origin) {
  if (!present(j, key)) return {};
  const auto& v = j.at(key);
  if (v.is_string()) return TargetModules::pattern(v.get<std::string>());
  if (v.is_array()) return TargetModules::list(get_strings(j, key, origin));
  type_error(origin, key, "a list of module names or a regex string", v);
}

// HF allows an int or a list of ints.
std::vector<int64_t> get_layers(const Json& j, const char* key, const std::string& origin) {
  std::vector<int64_t> out;
  if (!present(j, key)) return out;
  const auto& v = j.at(key);
  if (v.is_number_integer()) return {v.get<int64_t>()};
  if (!v.is_array()) type_error(origin, key, "an integer or a list of integers", v);
  for (const auto& e : v) {
    if (!e.is_number_integer()) type_error(origin, key, "an integer or a list of integers", v);
    out.push_back(e.get<int64_t>());
  }
  return out;
}

template <typename T>
PatternMap<T> get_pattern(const Json& j, const char* key, const std::string& origin) {
  PatternMap<T> out;
  if (!present(j, key)) return out;
  const auto& v = j.at(key);
  if (!v.is_object()) type_error(origin, key, "an object of pattern -> value", v);
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string sub = std::string(key) + "." + it.key();
    if constexpr (std::is_integral_v<T>) {
      if (!it.value().is_number_integer()) type_error(origin, sub, "an integer", it.value());
    } else {
      if (!it.value().is_number()) type_error(origin, sub, "a number", it.value());
    }
    out.emplace_back(it.key(), it.value().get<T>());
  }
  return out;
}

// Options HF PEFT has that change what the adapter computes and that lightpeft does not implement:
// refusing them beats silently computing something else.
void refuse_unsupported(const Json& j, const std::string& origin) {
  auto refuse_true = [&](const char* key) {
    if (get_bool(j, key, false, origin))
      throw_error(origin, ": key '", key, "': true is not supported by lightpeft");
  };
  refuse_true("use_dora");
  refuse_true("lora_bias");
  for (const char* key : {"layers_pattern", "layer_replication", "target_parameters",
                          "trainable_token_indices"}) {
    if (present(j, key) && !(j.at(key).is_array() && j.at(key).empty()) &&
        !(j.at(key).is_string() && j.at(key).get<std::string>().empty()))
      throw_error(origin, ": key '", key, "': ", j.at(key).dump(), " is not supported by lightpeft");
  }
}

Json object_of(const std::string& text, const std::string& origin) {
  auto j = parse_json(text, origin);
  LP_CHECK(j.is_object(), origin, ": expected a JSON object at the top level");
  return j;
}

// ---- writing ----------------------------------------------------------------------------------

// Integral values as JSON integers, as Python writes an int alpha.
Json number(double v) {
  if (std::floor(v) == v && std::fabs(v) < 1e15) return static_cast<int64_t>(v);
  return v;
}

Json targets_json(const TargetModules& t) {
  if (t.empty()) return nullptr;
  if (t.is_regex()) return t.regex;
  return t.names;
}

Json layers_json(const std::vector<int64_t>& layers) {
  if (layers.empty()) return nullptr;
  return layers;
}

Json strings_or_null(const std::vector<std::string>& v) {
  if (v.empty()) return nullptr;
  return v;
}

template <typename T>
Json pattern_json(const PatternMap<T>& p) {
  Json o = Json::object();
  for (const auto& kv : p) o[kv.first] = number(static_cast<double>(kv.second));
  return o;
}

// Sorted keys and 2-space indent, as HF's to_json_string (json.dumps(..., indent=2, sort_keys=True)).
std::string dump_sorted(const std::map<std::string, Json>& fields) {
  Json out = Json::object();
  for (const auto& kv : fields) out[kv.first] = kv.second;
  return out.dump(2) + "\n";
}

}  // namespace

TargetModules TargetModules::list(std::vector<std::string> names) {
  TargetModules t;
  t.names = std::move(names);
  return t;
}

TargetModules TargetModules::pattern(std::string regex) {
  TargetModules t;
  t.regex = std::move(regex);
  return t;
}

std::string to_string(PeftType type) { return type == PeftType::lora ? "LORA" : "BOTTLENECK"; }

LoraConfig light_peft_lora_config() {
  LoraConfig c;
  c.r = 8;
  c.lora_alpha = 16.0;
  c.lora_dropout = 0.05;
  c.target_modules = TargetModules::list(kSixLinears);
  c.modules_to_save = {"classifier"};
  return c;
}

LoraConfig lora_baseline_config() {
  LoraConfig c = light_peft_lora_config();
  c.target_modules = TargetModules::list({"query", "value"});
  return c;
}

AdapterConfig houlsby_adapter_config() {
  AdapterConfig c;
  c.target_modules = TargetModules::list({"output.dense"});
  c.modules_to_save = {"classifier"};
  return c;
}

AdapterConfig pfeiffer_adapter_config() {
  AdapterConfig c = houlsby_adapter_config();
  // The FFN's output.dense sits directly under "layer.<i>"; attention.output.dense does not.
  c.target_modules = TargetModules::pattern(R"(.*\.layer\.\d+\.output\.dense)");
  return c;
}

void validate_lora_config(const LoraConfig& c, const std::string& origin) {
  LP_CHECK(c.r >= 1, origin, ": key 'r': must be >= 1, got ", c.r,
           " (use rank_pattern to give single modules rank 0)");
  LP_CHECK(std::isfinite(c.lora_alpha) && c.lora_alpha > 0, origin,
           ": key 'lora_alpha': must be > 0, got ", c.lora_alpha);
  LP_CHECK(c.lora_dropout >= 0.0 && c.lora_dropout < 1.0, origin,
           ": key 'lora_dropout': must be in [0, 1), got ", c.lora_dropout);
  LP_CHECK(c.bias == "none", origin, ": key 'bias': only \"none\" is supported, got \"", c.bias,
           "\"");
  validate_common(c.target_modules, c.exclude_modules, c.layers_to_transform, c.rank_pattern,
                  c.task_type, origin);
  validate_pattern_keys(c.alpha_pattern, origin, "alpha_pattern");
  for (const auto& kv : c.alpha_pattern)
    LP_CHECK(std::isfinite(kv.second) && kv.second > 0, origin, ": key 'alpha_pattern.", kv.first,
             "': alpha must be > 0, got ", kv.second);
}

void validate_adapter_config(const AdapterConfig& c, const std::string& origin) {
  LP_CHECK(c.bottleneck_size >= 1, origin, ": key 'bottleneck_size': must be >= 1, got ",
           c.bottleneck_size);
  const auto& n = c.non_linearity;
  LP_CHECK(n == "relu" || n == "gelu" || n == "gelu_new" || n == "tanh" || n == "silu", origin,
           ": key 'non_linearity': expected relu, gelu, gelu_new, tanh or silu, got \"", n, "\"");
  LP_CHECK(c.adapter_dropout >= 0.0 && c.adapter_dropout < 1.0, origin,
           ": key 'adapter_dropout': must be in [0, 1), got ", c.adapter_dropout);
  LP_CHECK(std::isfinite(c.scaling), origin, ": key 'scaling': must be finite");
  LP_CHECK(c.init_weights == "bert" || c.init_weights == "zero_up", origin,
           ": key 'init_weights': expected \"bert\" or \"zero_up\", got \"", c.init_weights, "\"");
  validate_common(c.target_modules, c.exclude_modules, c.layers_to_transform, c.rank_pattern,
                  c.task_type, origin);
}

PeftType peft_type_of(const std::string& text, const std::string& origin) {
  auto j = object_of(text, origin);
  LP_CHECK(present(j, "peft_type"), origin, ": key 'peft_type' is missing");
  auto type = get_string(j, "peft_type", "", origin);
  if (type == "LORA") return PeftType::lora;
  if (type == "BOTTLENECK") return PeftType::bottleneck;
  throw_error(origin, ": key 'peft_type': \"", type,
              "\" is not supported (lightpeft reads \"LORA\" and \"BOTTLENECK\")");
}

LoraConfig parse_lora_config(const std::string& text, const std::string& origin) {
  LP_CHECK(peft_type_of(text, origin) == PeftType::lora, origin,
           ": key 'peft_type': expected \"LORA\"");
  auto j = object_of(text, origin);
  refuse_unsupported(j, origin);
  LoraConfig c;
  c.r = get_int(j, "r", c.r, origin);
  c.lora_alpha = get_number(j, "lora_alpha", c.lora_alpha, origin);
  c.lora_dropout = get_number(j, "lora_dropout", c.lora_dropout, origin);
  c.target_modules = get_targets(j, "target_modules", origin);
  c.exclude_modules = get_targets(j, "exclude_modules", origin);
  c.layers_to_transform = get_layers(j, "layers_to_transform", origin);
  c.modules_to_save = get_strings(j, "modules_to_save", origin);
  c.rank_pattern = get_pattern<int64_t>(j, "rank_pattern", origin);
  c.alpha_pattern = get_pattern<double>(j, "alpha_pattern", origin);
  c.use_rslora = get_bool(j, "use_rslora", false, origin);
  c.fan_in_fan_out = get_bool(j, "fan_in_fan_out", false, origin);
  c.bias = get_string(j, "bias", "none", origin);
  c.task_type = get_string(j, "task_type", "", origin);
  c.base_model_name_or_path = get_string(j, "base_model_name_or_path", "", origin);
  validate_lora_config(c, origin);
  return c;
}

AdapterConfig parse_adapter_config(const std::string& text, const std::string& origin) {
  LP_CHECK(peft_type_of(text, origin) == PeftType::bottleneck, origin,
           ": key 'peft_type': expected \"BOTTLENECK\"");
  auto j = object_of(text, origin);
  LP_CHECK(!get_bool(j, "use_parallel_adapter", false, origin), origin,
           ": key 'use_parallel_adapter': parallel adapters are not supported by lightpeft");
  AdapterConfig c;
  c.bottleneck_size = get_int(j, "bottleneck_size", c.bottleneck_size, origin);
  c.non_linearity = get_string(j, "non_linearity", c.non_linearity, origin);
  c.adapter_dropout = get_number(j, "adapter_dropout", c.adapter_dropout, origin);
  c.scaling = get_number(j, "scaling", c.scaling, origin);
  c.init_weights = get_string(j, "init_weights", c.init_weights, origin);
  c.target_modules = get_targets(j, "target_modules", origin);
  c.exclude_modules = get_targets(j, "exclude_modules", origin);
  c.layers_to_transform = get_layers(j, "layers_to_transform", origin);
  c.modules_to_save = get_strings(j, "modules_to_save", origin);
  c.rank_pattern = get_pattern<int64_t>(j, "rank_pattern", origin);
  c.task_type = get_string(j, "task_type", "", origin);
  c.base_model_name_or_path = get_string(j, "base_model_name_or_path", "", origin);
  validate_adapter_config(c, origin);
  return c;
}

std::string lora_config_to_json(const LoraConfig& c) {
  std::map<std::string, Json> f;
  f["alpha_pattern"] = pattern_json(c.alpha_pattern);
  f["auto_mapping"] = nullptr;
  f["base_model_name_or_path"] =
      c.base_model_name_or_path.empty() ? Json(nullptr) : Json(c.base_model_name_or_path);
  f["bias"] = c.bias;
  f["exclude_modules"] = targets_json(c.exclude_modules);
  f["fan_in_fan_out"] = c.fan_in_fan_out;
  f["inference_mode"] = true;
  f["init_lora_weights"] = true;
  f["layer_replication"] = nullptr;
  f["layers_pattern"] = nullptr;
  f["layers_to_transform"] = layers_json(c.layers_to_transform);
  f["loftq_config"] = Json::object();
  f["lora_alpha"] = number(c.lora_alpha);
  f["lora_bias"] = false;
  f["lora_dropout"] = c.lora_dropout;
  f["megatron_config"] = nullptr;
  f["megatron_core"] = "megatron.core";
  f["modules_to_save"] = strings_or_null(c.modules_to_save);
  f["peft_type"] = "LORA";
  f["r"] = c.r;
  f["rank_pattern"] = pattern_json(c.rank_pattern);
  f["revision"] = nullptr;
  f["target_modules"] = targets_json(c.target_modules);
  f["task_type"] = c.task_type.empty() ? Json(nullptr) : Json(c.task_type);
  f["use_dora"] = false;
  f["use_rslora"] = c.use_rslora;
  return dump_sorted(f);
}

std::string adapter_config_to_json(const AdapterConfig& c) {
  std::map<std::string, Json> f;
  f["adapter_dropout"] = c.adapter_dropout;
  f["base_model_name_or_path"] =
      c.base_model_name_or_path.empty() ? Json(nullptr) : Json(c.base_model_name_or_path);
  f["bias"] = "none";
  f["bottleneck_size"] = c.bottleneck_size;
  f["exclude_modules"] = targets_json(c.exclude_modules);
  f["inference_mode"] = true;
  f["init_weights"] = c.init_weights;
  f["layers_to_transform"] = layers_json(c.layers_to_transform);
  f["modules_to_save"] = strings_or_null(c.modules_to_save);
  f["non_linearity"] = c.non_linearity;
  f["peft_type"] = "BOTTLENECK";
  f["rank_pattern"] = pattern_json(c.rank_pattern);
  f["scaling"] = number(c.scaling);
  f["target_modules"] = targets_json(c.target_modules);
  f["task_type"] = c.task_type.empty() ? Json(nullptr) : Json(c.task_type);
  f["use_adapterp"] = false;
  f["use_parallel_adapter"] = false;
  return dump_sorted(f);
}

}  // namespace lightpeft
