#include "lightpeft/peft/inject.h"

#include <algorithm>
#include <iomanip>
#include <regex>
#include <sstream>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool full_match(const std::string& pattern, const std::string& s) {
  return std::regex_match(s, std::regex(pattern));
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string describe(const TargetModules& t) {
  return t.is_regex() ? "\"" + t.regex + "\"" : "[" + join(t.names) + "]";
}

// HF: modules_to_save entries as module names (plain suffix, _set_trainable).
bool is_module_to_save(const std::vector<std::string>& names, const std::string& path) {
  return std::any_of(names.begin(), names.end(),
                     [&](const std::string& n) { return ends_with(path, n); });
}

// HF check_target_module_exists: never put an adapter on or inside a module to save.
bool inside_module_to_save(const std::vector<std::string>& names, const std::string& path) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& n) {
    return full_match("(^|.*\\.)" + n + "($|\\..*)", path);
  });
}

bool is_peft_module(const torch::nn::Module& m) {
  return dynamic_cast<const LoraLinearImpl*>(&m) != nullptr ||
         dynamic_cast<const BottleneckAdapterImpl*>(&m) != nullptr;
}

struct Slot {
  LinearHost* host;
  std::string name;  // slot name inside the host
};

std::string example(const std::map<std::string, Slot>& slots) {
  return slots.empty() ? std::string("none") : slots.begin()->first;
}

std::map<std::string, Slot> linear_slots(const torch::nn::Module& model) {
  std::map<std::string, Slot> slots;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* host = dynamic_cast<LinearHost*>(item.value().get());
    if (host == nullptr) continue;
    for (const auto& name : host->linear_names()) slots[item.key() + "." + name] = {host, name};
  }
  return slots;
}

struct Selection {
  std::vector<std::string> paths;  // matched linear slots, in module order
  std::vector<std::string> modules_to_save;
};

// The linear slots a config selects and the modules it keeps trainable. strict (injection): a
// match that is not a linear slot, or no match at all, throws; otherwise such matches are skipped
// and modules inside PEFT wrappers are not candidates.
template <typename Config>
Selection select(const SequenceClassifierImpl& model, const Config& c, const std::string& what,
                 bool strict) {
  Selection sel;
  const auto save = effective_modules_to_save(model, c.modules_to_save, c.task_type);
  const auto slots = linear_slots(model);
  std::vector<std::string> wrappers;  // paths of PEFT modules: their insides are not candidates
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    const std::string& path = item.key();
    if (is_peft_module(*item.value())) {
      LP_CHECK(!strict, what,
               ": the model already has PEFT modules; merge_and_unload it or start from the base "
               "model");
      wrappers.push_back(path + ".");
    }
    if (std::any_of(wrappers.begin(), wrappers.end(),
                    [&](const std::string& w) { return path.rfind(w, 0) == 0; }))
      continue;
    if (is_module_to_save(save, path)) sel.modules_to_save.push_back(path);
    if (inside_module_to_save(save, path)) continue;
    if (!c.exclude_modules.empty() && matches_targets(c.exclude_modules, {}, path)) continue;
    if (!matches_targets(c.target_modules, c.layers_to_transform, path)) continue;
    if (slots.count(path) == 0) {
      LP_CHECK(!strict, what, ": target_modules ", describe(c.target_modules), " matches '", path,
               "', which is not a replaceable linear layer (", item.value()->name(),
               "); linear layers are e.g. '", example(slots), "'");
      continue;
    }
    sel.paths.push_back(path);
  }
  LP_CHECK(!strict || !sel.paths.empty(), what, ": target_modules ", describe(c.target_modules),
           " matched no linear layer of the model",
           c.layers_to_transform.empty() ? "" : " (within layers_to_transform)",
           "; linear layers are e.g. '", example(slots), "'");
  return sel;
}

Dense base_dense(const LinearPtr& layer, const std::string& path) {
  auto dense = std::dynamic_pointer_cast<DenseImpl>(layer);
  LP_CHECK(dense != nullptr, "'", path, "' is not a plain Dense layer and cannot be wrapped");
  return Dense(dense);
}

Slot slot_of(const std::map<std::string, Slot>& slots, const std::string& path) {
  auto it = slots.find(path);
  LP_CHECK(it != slots.end(), "no linear layer at '", path, "'");
  return it->second;
}

std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::vector<std::string> PeftModel::injected_paths() const {
  std::vector<std::string> out;
  for (const auto& kv : lora) out.push_back(kv.first);
  for (const auto& kv : adapters) out.push_back(kv.first);
  return out;
}

std::optional<int64_t> layer_index_of(const std::string& path) {
  static const std::regex re(R"(^.*?\.[^.]*\.(\d+)\.)");
  std::smatch m;
  if (!std::regex_search(path, m, re)) return std::nullopt;
  return std::stoll(m[1].str());
}

bool matches_targets(const TargetModules& t, const std::vector<int64_t>& layers,
                     const std::string& path) {
  if (t.is_regex()) return full_match(t.regex, path);
  const bool found = std::any_of(t.names.begin(), t.names.end(), [&](const std::string& n) {
    return path == n || ends_with(path, "." + n);
  });
  if (!found || layers.empty()) return found;
  auto layer = layer_index_of(path);
  return layer && std::find(layers.begin(), layers.end(), *layer) != layers.end();
}

template <typename T>
std::optional<T> match_pattern(const PatternMap<T>& patterns, const std::string& path) {
  for (const auto& kv : patterns)
    if (full_match("(.*\\.)?(" + kv.first + ")", path)) return kv.second;
  return std::nullopt;
}
template std::optional<int64_t> match_pattern(const PatternMap<int64_t>&, const std::string&);
template std::optional<double> match_pattern(const PatternMap<double>&, const std::string&);

std::vector<std::string> effective_modules_to_save(const SequenceClassifierImpl& model,
                                                   std::vector<std::string> names,
                                                   const std::string& task_type) {
  // HF's PeftModelForSequenceClassification appends the head ("classifier", "score") for SEQ_CLS.
  if (task_type == "SEQ_CLS")
    for (const auto& head : model.head_module_names())
      if (std::find(names.begin(), names.end(), head) == names.end()) names.push_back(head);
  return names;
}

template <typename Config>
std::vector<std::string> resolve_target_paths(const SequenceClassifierImpl& model,
                                              const Config& config) {
  return select(model, config, "resolve_target_paths", /*strict=*/false).paths;
}
template std::vector<std::string> resolve_target_paths(const SequenceClassifierImpl&,
                                                       const LoraConfig&);
template std::vector<std::string> resolve_target_paths(const SequenceClassifierImpl&,
                                                       const AdapterConfig&);

std::vector<std::string> linear_paths(const torch::nn::Module& model) {
  std::vector<std::string> out;
  for (const auto& kv : linear_slots(model)) out.push_back(kv.first);
  return out;
}

PeftModel inject_lora(SequenceClassifier model, const LoraConfig& config) {
  LP_CHECK(model != nullptr, "inject_lora: null model");
  validate_lora_config(config, "LoRA config");
  auto sel = select(*model, config, "inject_lora", /*strict=*/true);
  PeftModel peft;
  peft.model = model;
  peft.type = PeftType::lora;
  peft.lora_config = config;
  peft.modules_to_save = sel.modules_to_save;
  const auto slots = linear_slots(*model);
  for (const auto& path : sel.paths) {
    const int64_t r = match_pattern(config.rank_pattern, path).value_or(config.r);
    if (r == 0) continue;  // rank 0: this module gets no LoRA at all
    const double alpha = match_pattern(config.alpha_pattern, path).value_or(config.lora_alpha);
    auto slot = slot_of(slots, path);
    LoraLinear wrapped(base_dense(slot.host->linear(slot.name), path), r, alpha,
                       config.lora_dropout, config.use_rslora);
    wrapped->train(model->is_training());
    slot.host->replace_linear(slot.name, wrapped.ptr());
    peft.lora.emplace(path, wrapped);
  }
  mark_only_peft_trainable(peft);
  log::debug("inject_lora: ", peft.lora.size(), " LoRA modules; ", trainable_parameter_report(*model));
  return peft;
}

PeftModel inject_adapters(SequenceClassifier model, const AdapterConfig& config) {
  LP_CHECK(model != nullptr, "inject_adapters: null model");
  validate_adapter_config(config, "adapter config");
  auto sel = select(*model, config, "inject_adapters", /*strict=*/true);
  PeftModel peft;
  peft.model = model;
  peft.type = PeftType::bottleneck;
  peft.adapter_config = config;
  peft.modules_to_save = sel.modules_to_save;
  AdapterOptions options;
  options.non_linearity = config.non_linearity;
  options.dropout = config.adapter_dropout;
  options.scaling = config.scaling;
  options.init_weights = config.init_weights;
  const auto slots = linear_slots(*model);
  for (const auto& path : sel.paths) {
    const int64_t width = match_pattern(config.rank_pattern, path).value_or(config.bottleneck_size);
    if (width == 0) continue;
    auto slot = slot_of(slots, path);
    BottleneckAdapter wrapped(base_dense(slot.host->linear(slot.name), path), width, options);
    wrapped->train(model->is_training());
    slot.host->replace_linear(slot.name, wrapped.ptr());
    peft.adapters.emplace(path, wrapped);
  }
  mark_only_peft_trainable(peft);
  return peft;
}

void mark_only_peft_trainable(PeftModel& peft) {
  for (auto& p : peft.model->parameters()) p.set_requires_grad(false);
  auto train = [](torch::nn::Module& m) {
    for (auto& p : m.parameters()) p.set_requires_grad(true);
  };
  for (auto& kv : peft.lora) {
    if (kv.second->lora_A) train(*kv.second->lora_A);
    if (kv.second->lora_B) train(*kv.second->lora_B);
  }
  for (auto& kv : peft.adapters) {
    if (kv.second->adapter_down) train(*kv.second->adapter_down);
    if (kv.second->adapter_up) train(*kv.second->adapter_up);
  }
  auto modules = peft.model->named_modules("", /*include_self=*/false);
  for (const auto& path : peft.modules_to_save) {
    LP_CHECK(modules.contains(path), "modules_to_save: no module '", path, "'");
    train(*modules[path]);
  }
}

std::string trainable_parameter_report(const torch::nn::Module& model) {
  int64_t trainable = 0, all = 0;
  for (const auto& p : model.parameters()) {
    all += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  std::ostringstream os;
  os << "trainable params: " << with_commas(trainable) << " || all params: " << with_commas(all)
     << " || trainable%: " << std::fixed << std::setprecision(4)
     << (all == 0 ? 0.0 : 100.0 * static_cast<double>(trainable) / static_cast<double>(all));
  return os.str();
}

void merge_lora(PeftModel& peft) {
  for (auto& kv : peft.lora)
    if (!kv.second->merged()) kv.second->merge();
}

void unmerge_lora(PeftModel& peft) {
  for (auto& kv : peft.lora)
    if (kv.second->merged()) kv.second->unmerge();
}

SequenceClassifier merge_and_unload(PeftModel& peft) {
  LP_CHECK(peft.adapters.empty(),
           "merge_and_unload: bottleneck adapters are nonlinear and cannot be merged into the base");
  const auto slots = linear_slots(*peft.model);
  for (auto& kv : peft.lora) {
    auto& lora = kv.second;
    if (!lora->merged()) lora->merge();
    auto slot = slot_of(slots, kv.first);
    slot.host->replace_linear(slot.name, lora->base_layer.ptr());
  }
  peft.lora.clear();
  return peft.model;
}

SequenceClassifier unload(PeftModel& peft) {
  const auto slots = linear_slots(*peft.model);
  for (auto& kv : peft.lora) {
    auto& lora = kv.second;
    if (lora->merged()) lora->unmerge();
    auto slot = slot_of(slots, kv.first);
    slot.host->replace_linear(slot.name, lora->base_layer.ptr());
  }
  for (auto& kv : peft.adapters) {
    auto slot = slot_of(slots, kv.first);
    slot.host->replace_linear(slot.name, kv.second->base_layer.ptr());
  }
  peft.lora.clear();
  peft.adapters.clear();
  return peft.model;
}

}  // namespace lightpeft
