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

std::string example(const std::map<std::string, LinearSlot>& slots) {
  return slots.empty() ? std::string("none") : slots.begin()->first;
}

bool is_peft_module(const torch::nn::Module& m) { return dynamic_cast<const PeftLayer*>(&m) != nullptr; }

struct Selection {
  std::vector<std::string> paths;  // matched linear slots, in module order
  std::vector<std::string> modules_to_save;
};

// The linear slots a config selects and the modules it keeps trainable. strict (injection): a
// match that is not a linear slot, or no match at all, throws; otherwise such matches are skipped
// and modules inside PEFT wrappers are not candidates.
template <typename Config>
Selection select(const TaskModelImpl& model, const Config& c, const std::string& what,
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
  for (const auto& kv : layers) out.push_back(kv.first);
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

std::vector<std::string> effective_modules_to_save(const TaskModelImpl& model,
                                                   std::vector<std::string> names,
                                                   const std::string& task_type) {
  // HF's PeftModelForSequenceClassification (SEQ_CLS) and ...ForQuestionAnswering (QUESTION_ANS)
  // append the head ("classifier", "score", "qa_outputs"); a causal LM's head stays frozen.
  if (task_type == "SEQ_CLS" || task_type == "QUESTION_ANS")
    for (const auto& head : model.head_module_names())
      if (std::find(names.begin(), names.end(), head) == names.end()) names.push_back(head);
  return names;
}

template <typename Config>
std::vector<std::string> resolve_target_paths(const TaskModelImpl& model, const Config& config) {
  return select(model, config, "resolve_target_paths", /*strict=*/false).paths;
}
template std::vector<std::string> resolve_target_paths(const TaskModelImpl&, const LoraConfig&);
template std::vector<std::string> resolve_target_paths(const TaskModelImpl&, const AdapterConfig&);

std::vector<std::string> linear_paths(const torch::nn::Module& model) {
  std::vector<std::string> out;
  for (const auto& kv : linear_slots(model)) out.push_back(kv.first);
  return out;
}

namespace {

// Wraps every selected linear with make(base, path) (null: leave it unwrapped, rank 0), then
// freezes everything but the PEFT weights and the modules to save.
template <typename Make>
void wrap_selected(PeftModel& peft, const Selection& sel, Make make) {
  const auto slots = linear_slots(*peft.model);
  for (const auto& path : sel.paths) {
    const LinearSlot& slot = slots.at(path);
    auto dense = std::dynamic_pointer_cast<DenseImpl>(slot.get());
    LP_CHECK(dense != nullptr, "'", path, "' is not a plain Dense layer and cannot be wrapped");
    PeftLayerPtr wrapped = make(Dense(dense), path);
    if (!wrapped) continue;
    wrapped->train(peft.model->is_training());
    slot.set(wrapped);
    peft.layers.emplace(path, std::move(wrapped));
  }
  mark_only_peft_trainable(peft);
}

}  // namespace

PeftModel inject_lora(TaskModel model, const LoraConfig& config) {
  LP_CHECK(model != nullptr, "inject_lora: null model");
  validate_lora_config(config, "LoRA config");
  auto sel = select(*model, config, "inject_lora", /*strict=*/true);
  PeftModel peft;
  peft.model = model;
  peft.type = PeftType::lora;
  peft.lora_config = config;
  peft.modules_to_save = sel.modules_to_save;
  wrap_selected(peft, sel, [&](Dense base, const std::string& path) -> PeftLayerPtr {
    const int64_t r = match_pattern(config.rank_pattern, path).value_or(config.r);
    if (r == 0) return nullptr;  // rank 0: this module gets no LoRA at all
    // HF PEFT sets fan_in_fan_out itself for Conv1D bases (GPT-2).
    if (base->fan_in_fan_out()) peft.lora_config.fan_in_fan_out = true;
    const double alpha = match_pattern(config.alpha_pattern, path).value_or(config.lora_alpha);
    return std::make_shared<LoraLinearImpl>(base, r, alpha, config.lora_dropout, config.use_rslora);
  });
  log::debug("inject_lora: ", peft.layers.size(), " LoRA modules; ", trainable_parameter_report(*model));
  return peft;
}

PeftModel inject_adapters(TaskModel model, const AdapterConfig& config) {
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
  wrap_selected(peft, sel, [&](Dense base, const std::string& path) -> PeftLayerPtr {
    const int64_t width = match_pattern(config.rank_pattern, path).value_or(config.bottleneck_size);
    if (width == 0) return nullptr;
    return std::make_shared<BottleneckAdapterImpl>(base, width, options);
  });
  return peft;
}

void mark_only_peft_trainable(PeftModel& peft) {
  for (auto& p : peft.model->parameters()) p.set_requires_grad(false);
  for (auto& kv : peft.layers)
    for (auto& [name, w] : kv.second->peft_weights()) w.set_requires_grad(true);
  auto modules = peft.model->named_modules("", /*include_self=*/false);
  for (const auto& path : peft.modules_to_save) {
    LP_CHECK(modules.contains(path), "modules_to_save: no module '", path, "'");
    for (auto& p : modules[path]->parameters()) p.set_requires_grad(true);
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
  for (auto& kv : peft.layers)
    if (kv.second->mergeable() && !kv.second->merged()) kv.second->merge();
}

void unmerge_lora(PeftModel& peft) {
  for (auto& kv : peft.layers)
    if (kv.second->mergeable() && kv.second->merged()) kv.second->unmerge();
}

TaskModel merge_for_inference(PeftModel& peft) {
  for (const auto& kv : peft.layers)
    if (!kv.second->mergeable()) return peft.model;
  const size_t n = peft.layers.size();
  TaskModel model = merge_and_unload(peft);
  if (n > 0) log::info("LoRA merged into the base weights for inference (", n, " layers)");
  return model;
}

TaskModel merge_and_unload(PeftModel& peft) {
  for (const auto& kv : peft.layers)
    LP_CHECK(kv.second->mergeable(), "merge_and_unload: '", kv.first,
             "' holds a bottleneck adapter, which is nonlinear and cannot be merged into the base");
  for (auto& kv : peft.layers) {
    if (!kv.second->merged()) kv.second->merge();
    find_linear_slot(*peft.model, kv.first).set(kv.second->base_layer.ptr());
  }
  peft.layers.clear();
  return peft.model;
}

TaskModel unload(PeftModel& peft) {
  for (auto& kv : peft.layers) {
    if (kv.second->merged()) kv.second->unmerge();
    find_linear_slot(*peft.model, kv.first).set(kv.second->base_layer.ptr());
  }
  peft.layers.clear();
  return peft.model;
}

}  // namespace lightpeft
