#include "lightpeft/train/train_config.h"

#include <cstdlib>
#include <fstream>
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "lightpeft/core/error.h"
#include "lightpeft/data/text_file.h"

namespace lightpeft {
namespace {

// What one parse shares across its sections: where the text came from, which keys `--set`
// overrides changed (errors about them name the override, not a line of the file), and the keys
// each section knows (for cross-section suggestions such as `learning_rate` -> `training.learning_rate`).
struct ParseContext {
  std::string origin;
  std::map<std::string, std::string> overrides;        // dotted key -> value as given
  std::map<std::string, std::set<std::string>> known;  // section path ("" = top level) -> keys
};

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Keys renamed to HF TrainingArguments' names: an old name in a config gets the new one suggested.
const std::map<std::string, std::string>& renamed_keys() {
  static const std::map<std::string, std::string> m = {
      {"batch_size", "per_device_train_batch_size"},
      {"train_batch_size", "per_device_train_batch_size"},
      {"eval_batch_size", "per_device_eval_batch_size"},
      {"epochs", "num_train_epochs"},
      {"scheduler", "lr_scheduler_type"},
      {"lr", "learning_rate"},
  };
  return m;
}

// The known key a misspelt `key` most likely means: the nearest by edit distance (at most about a
// third of the key's length), a renamed key's new name, or a known key containing it; "" if none.
std::string closest_key(const std::string& key, const std::set<std::string>& known) {
  std::string best;
  size_t best_d = std::string::npos;
  for (const auto& k : known) {
    const size_t d = edit_distance(key, k);
    if (d < best_d) best_d = d, best = k;
  }
  const size_t limit = std::max<size_t>(1, std::min<size_t>(3, key.size() / 3));
  if (!best.empty() && best_d <= limit) return best;
  auto r = renamed_keys().find(key);
  if (r != renamed_keys().end() && known.count(r->second)) return r->second;
  std::string contained;
  if (key.size() >= 4)
    for (const auto& k : known)
      if (k.find(key) != std::string::npos && (contained.empty() || k.size() < contained.size())) contained = k;
  return contained;
}

// Reads one YAML mapping, remembering which keys were used so that a misspelt key is an error
// (a silently ignored "lerning_rate" would be a silent wrong answer).
class Section {
 public:
  Section(const YAML::Node& node, ParseContext* ctx, std::string path)
      : node_(node), ctx_(ctx), path_(std::move(path)) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
      fail(node_, path_, "key '" + path_ + "': expected a mapping of keys to values");
  }

  template <typename T>
  void get(const char* key, T& out) {
    used_.insert(key);
    if (!node_ || node_.IsNull()) return;
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return;
    if (!v.IsScalar()) fail(v, qualified(key), std::string("key '") + qualified(key) + "': expected a " + type_name<T>());
    try {
      out = v.as<T>();
    } catch (const YAML::Exception&) {
      fail(v, qualified(key), std::string("key '") + qualified(key) + "': expected a " + type_name<T>() +
                                  ", got '" + v.Scalar() + "'");
    }
  }

  void get_path(const char* key, std::filesystem::path& out) {
    std::string s;
    get(key, s);
    if (!s.empty()) out = expand_home(s);
  }

  void get_list(const char* key, std::vector<std::string>& out) {
    used_.insert(key);
    if (!node_ || node_.IsNull()) return;
    YAML::Node v = node_[key];
    if (!v || v.IsNull()) return;
    if (v.IsScalar()) {  // "query,value" or a single name
      out.clear();
      std::stringstream ss(v.Scalar());
      for (std::string item; std::getline(ss, item, ',');)
        if (!trim(item).empty()) out.push_back(trim(item));
      return;
    }
    if (!v.IsSequence())
      fail(v, qualified(key), std::string("key '") + qualified(key) + "': expected a list of strings");
    out.clear();
    for (const auto& e : v) {
      if (!e.IsScalar())
        fail(e, qualified(key), std::string("key '") + qualified(key) + "': expected strings in the list");
      out.push_back(e.Scalar());
    }
  }

  Section child(const char* key) {
    used_.insert(key);
    YAML::Node v = (node_ && node_.IsMap()) ? node_[key] : YAML::Node();
    return Section(v, ctx_, qualified(key));
  }
  bool has(const char* key) const { return node_ && node_.IsMap() && node_[key] && !node_[key].IsNull(); }

  // Every key not read is an error that suggests the nearest known key of this section (or, at
  // the top level, a section holding that key), else lists what is allowed.
  void reject_unknown_keys() const {
    ctx_->known[path_].insert(used_.begin(), used_.end());
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      // YAML allows a mapping or a list as a key ("? {a: 1}: x"); ours are names.
      if (!kv.first.IsScalar()) fail(kv.first, path_, "a key must be a plain name, got a YAML mapping or list");
      const std::string key = kv.first.as<std::string>();
      if (used_.count(key)) continue;
      std::string hint = closest_key(key, used_);
      if (hint.empty() && path_.empty())
        for (const auto& [section, keys] : ctx_->known)
          if (!section.empty() && keys.count(key)) {
            hint = section + "." + key;
            break;
          }
      std::string message = "unknown key '" + qualified(key) + "' ";
      if (!hint.empty()) {
        message += "(did you mean '" + hint + "'?)";
      } else {
        std::string allowed;
        for (const auto& k : used_) allowed += (allowed.empty() ? "" : ", ") + k;
        message += "(expected one of: " + allowed + ")";
      }
      fail(kv.first, qualified(key), message);
    }
  }

  // An error at `at`, about the key `qkey` (dotted): blamed on the `--set` that put it there, or
  // on the file and line.
  [[noreturn]] void fail(const YAML::Node& at, const std::string& qkey, const std::string& message) const {
    for (const auto& [key, value] : ctx_->overrides)
      if (key == qkey || key.rfind(qkey + ".", 0) == 0) throw_error("--set ", key, ": ", message);
    if (at && at.Mark().line >= 0) throw_error(ctx_->origin, ":", at.Mark().line + 1, ": ", message);
    throw_error(ctx_->origin, ": ", message);
  }
  [[noreturn]] void fail_key(const char* key, const std::string& message) const {
    YAML::Node v = (node_ && node_.IsMap()) ? node_[key] : YAML::Node();
    fail(v, qualified(key), "key '" + qualified(key) + "': " + message);
  }

 private:
  template <typename T>
  static const char* type_name() {
    if constexpr (std::is_same_v<T, bool>) return "boolean (true/false)";
    if constexpr (std::is_integral_v<T>) return "integer";
    if constexpr (std::is_floating_point_v<T>) return "number";
    return "string";
  }
  static std::filesystem::path expand_home(const std::string& s) {
    if (s.rfind("~/", 0) == 0 || s == "~") {
      const char* home = std::getenv("HOME");
      if (home) return std::filesystem::path(home) / s.substr(s.size() > 1 ? 2 : 1);
    }
    return s;
  }
  std::string qualified(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }

  YAML::Node node_;
  ParseContext* ctx_;
  std::string path_;
  std::set<std::string> used_;
};

// Applies one `--set key=value` to the YAML tree: sections along the dotted path are created as
// needed; the value is parsed as YAML.
void apply_override(YAML::Node& root, const std::string& text, ParseContext& ctx) {
  const size_t eq = text.find('=');
  LP_CHECK(eq != std::string::npos && !trim(text.substr(0, eq)).empty(), "--set ", text,
           ": expected key=value (e.g. --set training.learning_rate=1e-3)");
  const std::string key = trim(text.substr(0, eq)), value = text.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(key);
  for (std::string part; std::getline(ss, part, '.');) {
    LP_CHECK(!trim(part).empty(), "--set ", key, ": an empty name in the dotted key");
    parts.push_back(trim(part));
  }
  LP_CHECK(!parts.empty() && key.back() != '.', "--set ", key, ": an empty name in the dotted key");
  YAML::Node parsed;
  try {
    parsed = YAML::Load(value);
  } catch (const YAML::Exception& e) {
    throw_error("--set ", key, ": value '", value, "' is not valid YAML: ", e.msg);
  }
  YAML::Node cur = root;
  std::string path;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path += (path.empty() ? "" : ".") + parts[i];
    YAML::Node next = cur[parts[i]];
    if (!next.IsDefined() || next.IsNull()) {
      cur[parts[i]] = YAML::Node(YAML::NodeType::Map);
    } else if (!next.IsMap()) {
      throw_error("--set ", key, ": '", path, "' is not a section (it holds a single value)");
    }
    YAML::Node child = cur[parts[i]];
    cur.reset(child);
  }
  cur[parts.back()] = parsed;
  std::string normalized;
  for (const auto& p : parts) normalized += (normalized.empty() ? "" : ".") + p;
  ctx.overrides[normalized] = value;
}

template <typename T>
void check_one_of(Section& s, const char* key, const T& value, std::initializer_list<T> allowed) {
  std::string list;
  for (const auto& a : allowed) {
    if (a == value) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  s.fail_key(key, "'" + std::string(value) + "' is not one of: " + list);
}

void check_ratio(Section& s, const char* key, double v) {
  if (!(v >= 0.0 && v < 1.0)) s.fail_key(key, "expected a ratio in [0, 1), got " + std::to_string(v));
}

void read_training(Section s, OptimConfig& t) {
  s.get("per_device_train_batch_size", t.per_device_train_batch_size);
  s.get("per_device_eval_batch_size", t.per_device_eval_batch_size);
  s.get("learning_rate", t.learning_rate);
  s.get("weight_decay", t.weight_decay);
  s.get("adam_beta1", t.adam_beta1);
  s.get("adam_beta2", t.adam_beta2);
  s.get("adam_epsilon", t.adam_epsilon);
  s.get("num_train_epochs", t.num_train_epochs);
  s.get("max_steps", t.max_steps);
  s.get("warmup_ratio", t.warmup_ratio);
  s.get("warmup_steps", t.warmup_steps);
  s.get("lr_scheduler_type", t.lr_scheduler_type);
  s.get("max_grad_norm", t.max_grad_norm);
  s.get("gradient_accumulation_steps", t.gradient_accumulation_steps);
  s.get("group_by_length", t.group_by_length);
  s.get("logging_steps", t.logging_steps);
  s.get("eval_steps", t.eval_steps);
  s.get("save_steps", t.save_steps);
  s.get("save_total_limit", t.save_total_limit);
  s.get("max_train_samples", t.max_train_samples);
  s.get("max_eval_samples", t.max_eval_samples);
  s.get("skip_bad_rows", t.skip_bad_rows);
  s.get("nonfinite_loss", t.nonfinite_loss);
  s.reject_unknown_keys();
  auto positive = [&](const char* key, int64_t v) {
    if (v < 1) s.fail_key(key, "expected a positive integer, got " + std::to_string(v));
  };
  positive("per_device_train_batch_size", t.per_device_train_batch_size);
  positive("per_device_eval_batch_size", t.per_device_eval_batch_size);
  positive("gradient_accumulation_steps", t.gradient_accumulation_steps);
  positive("logging_steps", t.logging_steps);
  positive("save_total_limit", t.save_total_limit);
  if (!(t.learning_rate > 0)) s.fail_key("learning_rate", "expected > 0");
  if (t.weight_decay < 0) s.fail_key("weight_decay", "expected >= 0");
  if (!(t.num_train_epochs > 0) && t.max_steps <= 0)
    s.fail_key("num_train_epochs", "expected > 0 (or set max_steps)");
  if (t.max_steps == 0 || t.max_steps < -1) s.fail_key("max_steps", "expected a positive integer or -1 (use num_train_epochs)");
  check_ratio(s, "warmup_ratio", t.warmup_ratio);
  if (t.warmup_steps < 0) s.fail_key("warmup_steps", "expected >= 0");
  if (t.eval_steps < 0) s.fail_key("eval_steps", "expected >= 0");
  if (t.save_steps < 0) s.fail_key("save_steps", "expected >= 0");
  if (t.max_train_samples < 0) s.fail_key("max_train_samples", "expected >= 0");
  if (t.max_eval_samples < 0) s.fail_key("max_eval_samples", "expected >= 0");
  if (!(t.adam_beta1 >= 0 && t.adam_beta1 < 1)) s.fail_key("adam_beta1", "expected [0, 1)");
  if (!(t.adam_beta2 >= 0 && t.adam_beta2 < 1)) s.fail_key("adam_beta2", "expected [0, 1)");
  if (!(t.adam_epsilon > 0)) s.fail_key("adam_epsilon", "expected > 0");
  check_one_of<std::string>(s, "lr_scheduler_type", t.lr_scheduler_type, {"linear", "cosine", "constant"});
  check_one_of<std::string>(s, "nonfinite_loss", t.nonfinite_loss, {"stop", "skip"});
}

void read_lora(Section s, LoraSection& l) {
  s.get("r", l.r);
  s.get("alpha", l.alpha);
  s.get("dropout", l.dropout);
  s.get_list("target_modules", l.target_modules);
  s.get("use_rslora", l.use_rslora);
  s.reject_unknown_keys();
  if (l.r < 1) s.fail_key("r", "expected a positive rank, got " + std::to_string(l.r));
  if (!(l.alpha > 0)) s.fail_key("alpha", "expected > 0");
  check_ratio(s, "dropout", l.dropout);
  if (l.target_modules.empty()) s.fail_key("target_modules", "expected at least one module name");
}

void read_adapter(Section s, AdapterSection& a) {
  s.get("bottleneck_size", a.bottleneck_size);
  s.get("non_linearity", a.non_linearity);
  s.get("dropout", a.dropout);
  s.get("scaling", a.scaling);
  s.get("placement", a.placement);
  s.get("init", a.init);
  s.reject_unknown_keys();
  if (a.bottleneck_size < 1) s.fail_key("bottleneck_size", "expected a positive integer");
  check_ratio(s, "dropout", a.dropout);
  check_one_of<std::string>(s, "non_linearity", a.non_linearity, {"relu", "gelu"});
  check_one_of<std::string>(s, "placement", a.placement, {"houlsby", "pfeiffer"});
  check_one_of<std::string>(s, "init", a.init, {"bert", "zero_up"});
}

void read_light_peft(Section s, LightPeftSection& p) {
  s.get("peft", p.peft);
  s.get("estimate_steps", p.estimate_steps);
  s.get("l1_lambda", p.l1_lambda);
  s.get("head_mask_lr_multiplier", p.head_mask_lr_multiplier);
  s.get("ffn_mask_lr_multiplier", p.ffn_mask_lr_multiplier);
  s.get("head_pruning_ratio", p.head_pruning_ratio);
  s.get("head_pruning_scope", p.head_pruning_scope);
  s.get("ffn_pruning_ratio", p.ffn_pruning_ratio);
  s.get("ffn_pruning_scope", p.ffn_pruning_scope);
  s.get("module_pruning_ratio", p.module_pruning_ratio);
  s.get("rank_pruning_ratio", p.rank_pruning_ratio);
  s.get("importance", p.importance);
  s.reject_unknown_keys();
  check_one_of<std::string>(s, "peft", p.peft, {"lora", "adapter"});
  if (p.estimate_steps < 1) s.fail_key("estimate_steps", "expected a positive number of steps");
  if (p.l1_lambda < 0) s.fail_key("l1_lambda", "expected >= 0");
  if (!(p.head_mask_lr_multiplier > 0)) s.fail_key("head_mask_lr_multiplier", "expected > 0");
  if (!(p.ffn_mask_lr_multiplier > 0)) s.fail_key("ffn_mask_lr_multiplier", "expected > 0");
  check_ratio(s, "head_pruning_ratio", p.head_pruning_ratio);
  check_ratio(s, "ffn_pruning_ratio", p.ffn_pruning_ratio);
  check_ratio(s, "module_pruning_ratio", p.module_pruning_ratio);
  check_ratio(s, "rank_pruning_ratio", p.rank_pruning_ratio);
  check_one_of<std::string>(s, "head_pruning_scope", p.head_pruning_scope, {"layerwise", "global"});
  check_one_of<std::string>(s, "ffn_pruning_scope", p.ffn_pruning_scope, {"layerwise", "global"});
  check_one_of<std::string>(s, "importance", p.importance, {"mask", "taylor"});
}

void read_user_task(Section s, UserTaskSection& u) {
  s.get("format", u.format);
  s.get_path("train_file", u.train_file);
  s.get_path("dev_file", u.dev_file);
  s.get_path("test_file", u.test_file);
  s.get("text_column", u.text_column);
  s.get("text_pair_column", u.text_pair_column);
  s.get("label_column", u.label_column);
  s.get_list("labels", u.labels);
  s.get("regression", u.regression);
  s.get("metric", u.metric);
  s.reject_unknown_keys();
  check_one_of<std::string>(s, "format", u.format, {"csv", "tsv", "jsonl"});
  if (u.train_file.empty()) s.fail_key("train_file", "required for task: user");
  if (u.dev_file.empty()) s.fail_key("dev_file", "required for task: user");
  if (!u.regression && u.labels.size() < 2)
    s.fail_key("labels", "a classification task needs at least two label names (or regression: true)");
  if (u.regression && !u.labels.empty()) s.fail_key("labels", "a regression task has no label names");
}

Method parse_method(Section& s, const std::string& name) {
  if (name == "lora") return Method::lora;
  if (name == "adapter") return Method::adapter;
  if (name == "light-peft" || name == "light_peft" || name == "lightpeft") return Method::light_peft;
  if (name == "full") return Method::full;
  s.fail_key("method", "'" + name + "' is not one of: lora, adapter, light-peft, full");
}

}  // namespace

std::string to_string(Method method) {
  switch (method) {
    case Method::lora: return "lora";
    case Method::adapter: return "adapter";
    case Method::light_peft: return "light-peft";
    case Method::full: return "full";
  }
  return "?";
}

namespace {
TrainConfig parse_document(const std::string& yaml_text, const std::string& origin,
                           const ConfigOverrides& overrides) {
  // YAML is Unicode text; yaml-cpp passes invalid UTF-8 through into paths and names.
  if (!is_valid_utf8(yaml_text)) {
    size_t line = 1;
    for (const TextLine& l : split_lines(yaml_text)) {
      if (!is_valid_utf8(l.text)) {
        line = static_cast<size_t>(l.number);
        break;
      }
    }
    throw_error(origin, ":", line, ": not valid UTF-8 (YAML configs are UTF-8 text)");
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    throw_error(origin, ":", e.mark.line + 1, ": not valid YAML: ", e.msg);
  }
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);  // an empty file: all from --set
  LP_CHECK(root.IsMap(), origin, ": expected a YAML mapping of keys to values at the top level");
  ParseContext ctx;
  ctx.origin = origin;
  for (const auto& o : overrides) apply_override(root, o, ctx);
  Section s(root, &ctx, "");
  TrainConfig c;
  c.source = origin;
  s.get("task", c.task);
  s.get_path("data_dir", c.data_dir);
  s.get_path("model", c.model);
  s.get_path("output_dir", c.output_dir);
  std::string method = "light-peft";
  s.get("method", method);
  c.method = parse_method(s, method);
  s.get("seed", c.seed);
  s.get("max_seq_length", c.max_seq_length);
  s.get("device", c.device);
  s.get("dtype", c.dtype);
  s.get("threads", c.threads);
  read_training(s.child("training"), c.training);
  read_lora(s.child("lora"), c.lora);
  read_adapter(s.child("adapter"), c.adapter);
  read_light_peft(s.child("light_peft"), c.light_peft);
  if (s.has("user_task")) {
    c.user_task.emplace();
    read_user_task(s.child("user_task"), *c.user_task);
  } else {
    s.child("user_task");  // known key, absent
  }
  s.reject_unknown_keys();

  if (c.task.empty()) s.fail_key("task", "required (a GLUE/SuperGLUE task such as rte, or user)");
  if (c.model.empty()) s.fail_key("model", "required (an HF-layout model directory)");
  if (c.output_dir.empty()) s.fail_key("output_dir", "required");
  if (c.task == "user" && !c.user_task) s.fail_key("user_task", "required for task: user");
  if (c.task != "user" && c.data_dir.empty()) s.fail_key("data_dir", "required for GLUE/SuperGLUE tasks");
  if (c.max_seq_length < 8) s.fail_key("max_seq_length", "expected at least 8");
  if (c.threads < 0) s.fail_key("threads", "expected >= 0");
  check_one_of<std::string>(s, "dtype", c.dtype, {"fp32", "bf16", "fp16"});
  if (!(c.device == "auto" || c.device == "cpu" || c.device.rfind("cuda", 0) == 0))
    s.fail_key("device", "'" + c.device + "' is not one of: auto, cpu, cuda, cuda:N");
  return c;
}
}  // namespace

TrainConfig parse_train_config(const std::string& yaml_text, const std::string& origin,
                               const ConfigOverrides& overrides) {
  // Every check above throws lightpeft::Error; this catches a yaml-cpp conversion that slipped
  // through them (the fuzzer found one), so that bad YAML never surfaces as a yaml-cpp exception.
  try {
    return parse_document(yaml_text, origin, overrides);
  } catch (const YAML::Exception& e) {
    throw_error(origin, ":", e.mark.line + 1, ": ", e.msg);
  }
}

TrainConfig load_train_config(const std::filesystem::path& file, const ConfigOverrides& overrides) {
  std::ifstream in(file, std::ios::binary);
  LP_CHECK(in.good(), file.string(), ": cannot open the config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_train_config(ss.str(), file.string(), overrides);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string train_config_to_yaml(const TrainConfig& c) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  e << YAML::Key << "task" << YAML::Value << c.task;
  e << YAML::Key << "data_dir" << YAML::Value << c.data_dir.string();
  e << YAML::Key << "model" << YAML::Value << c.model.string();
  e << YAML::Key << "output_dir" << YAML::Value << c.output_dir.string();
  e << YAML::Key << "method" << YAML::Value << to_string(c.method);
  e << YAML::Key << "seed" << YAML::Value << c.seed;
  e << YAML::Key << "max_seq_length" << YAML::Value << c.max_seq_length;
  e << YAML::Key << "device" << YAML::Value << c.device;
  e << YAML::Key << "dtype" << YAML::Value << c.dtype;
  e << YAML::Key << "threads" << YAML::Value << c.threads;
  const auto& t = c.training;
  e << YAML::Key << "training" << YAML::Value << YAML::BeginMap
    << YAML::Key << "per_device_train_batch_size" << YAML::Value << t.per_device_train_batch_size
    << YAML::Key << "per_device_eval_batch_size" << YAML::Value << t.per_device_eval_batch_size
    << YAML::Key << "learning_rate" << YAML::Value << t.learning_rate
    << YAML::Key << "weight_decay" << YAML::Value << t.weight_decay
    << YAML::Key << "adam_beta1" << YAML::Value << t.adam_beta1
    << YAML::Key << "adam_beta2" << YAML::Value << t.adam_beta2
    << YAML::Key << "adam_epsilon" << YAML::Value << t.adam_epsilon
    << YAML::Key << "num_train_epochs" << YAML::Value << t.num_train_epochs
    << YAML::Key << "max_steps" << YAML::Value << t.max_steps
    << YAML::Key << "warmup_ratio" << YAML::Value << t.warmup_ratio
    << YAML::Key << "warmup_steps" << YAML::Value << t.warmup_steps
    << YAML::Key << "lr_scheduler_type" << YAML::Value << t.lr_scheduler_type
    << YAML::Key << "max_grad_norm" << YAML::Value << t.max_grad_norm
    << YAML::Key << "gradient_accumulation_steps" << YAML::Value << t.gradient_accumulation_steps
    << YAML::Key << "group_by_length" << YAML::Value << t.group_by_length
    << YAML::Key << "logging_steps" << YAML::Value << t.logging_steps
    << YAML::Key << "eval_steps" << YAML::Value << t.eval_steps
    << YAML::Key << "save_steps" << YAML::Value << t.save_steps
    << YAML::Key << "save_total_limit" << YAML::Value << t.save_total_limit
    << YAML::Key << "max_train_samples" << YAML::Value << t.max_train_samples
    << YAML::Key << "max_eval_samples" << YAML::Value << t.max_eval_samples
    << YAML::Key << "skip_bad_rows" << YAML::Value << t.skip_bad_rows;
  // Written only when set, so that config copies of runs made before the key existed still match.
  if (t.nonfinite_loss != "stop") e << YAML::Key << "nonfinite_loss" << YAML::Value << t.nonfinite_loss;
  e << YAML::EndMap;
  const auto& l = c.lora;
  e << YAML::Key << "lora" << YAML::Value << YAML::BeginMap << YAML::Key << "r" << YAML::Value << l.r
    << YAML::Key << "alpha" << YAML::Value << l.alpha << YAML::Key << "dropout" << YAML::Value
    << l.dropout << YAML::Key << "target_modules" << YAML::Value << YAML::Flow << l.target_modules
    << YAML::Key << "use_rslora" << YAML::Value << l.use_rslora << YAML::EndMap;
  const auto& a = c.adapter;
  e << YAML::Key << "adapter" << YAML::Value << YAML::BeginMap << YAML::Key << "bottleneck_size"
    << YAML::Value << a.bottleneck_size << YAML::Key << "non_linearity" << YAML::Value
    << a.non_linearity << YAML::Key << "dropout" << YAML::Value << a.dropout << YAML::Key
    << "scaling" << YAML::Value << a.scaling << YAML::Key << "placement" << YAML::Value
    << a.placement << YAML::Key << "init" << YAML::Value << a.init << YAML::EndMap;
  const auto& p = c.light_peft;
  e << YAML::Key << "light_peft" << YAML::Value << YAML::BeginMap
    << YAML::Key << "peft" << YAML::Value << p.peft
    << YAML::Key << "estimate_steps" << YAML::Value << p.estimate_steps
    << YAML::Key << "l1_lambda" << YAML::Value << p.l1_lambda
    << YAML::Key << "head_mask_lr_multiplier" << YAML::Value << p.head_mask_lr_multiplier
    << YAML::Key << "ffn_mask_lr_multiplier" << YAML::Value << p.ffn_mask_lr_multiplier
    << YAML::Key << "head_pruning_ratio" << YAML::Value << p.head_pruning_ratio
    << YAML::Key << "head_pruning_scope" << YAML::Value << p.head_pruning_scope
    << YAML::Key << "ffn_pruning_ratio" << YAML::Value << p.ffn_pruning_ratio
    << YAML::Key << "ffn_pruning_scope" << YAML::Value << p.ffn_pruning_scope
    << YAML::Key << "module_pruning_ratio" << YAML::Value << p.module_pruning_ratio
    << YAML::Key << "rank_pruning_ratio" << YAML::Value << p.rank_pruning_ratio
    << YAML::Key << "importance" << YAML::Value << p.importance << YAML::EndMap;
  if (c.user_task) {
    const auto& u = *c.user_task;
    e << YAML::Key << "user_task" << YAML::Value << YAML::BeginMap
      << YAML::Key << "format" << YAML::Value << u.format
      << YAML::Key << "train_file" << YAML::Value << u.train_file.string()
      << YAML::Key << "dev_file" << YAML::Value << u.dev_file.string()
      << YAML::Key << "test_file" << YAML::Value << u.test_file.string()
      << YAML::Key << "text_column" << YAML::Value << u.text_column
      << YAML::Key << "text_pair_column" << YAML::Value << u.text_pair_column
      << YAML::Key << "label_column" << YAML::Value << u.label_column
      << YAML::Key << "labels" << YAML::Value << YAML::Flow << u.labels
      << YAML::Key << "regression" << YAML::Value << u.regression
      << YAML::Key << "metric" << YAML::Value << u.metric << YAML::EndMap;
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

}  // namespace lightpeft
