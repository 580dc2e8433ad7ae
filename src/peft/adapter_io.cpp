#include "lightpeft/peft/adapter_io.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/io/torch_bin.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  LP_CHECK(in.good(), path.string(), ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string shape_of(const at::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}

bool same_alpha(double a, double b) { return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b)); }

// True when injecting `c` into the base model rebuilds exactly `actual` (path -> r, alpha) and HF
// PEFT can read it (it refuses rank 0 in rank_pattern).
bool describes(const TaskModelImpl& model, const LoraConfig& c,
               const std::map<std::string, std::pair<int64_t, double>>& actual) {
  for (const auto& kv : c.rank_pattern)
    if (kv.second == 0) return false;
  std::map<std::string, std::pair<int64_t, double>> expected;
  for (const auto& path : resolve_target_paths(model, c)) {
    const int64_t r = match_pattern(c.rank_pattern, path).value_or(c.r);
    expected[path] = {r, match_pattern(c.alpha_pattern, path).value_or(c.lora_alpha)};
  }
  if (expected.size() != actual.size()) return false;
  for (const auto& kv : expected) {
    auto it = actual.find(kv.first);
    if (it == actual.end() || it->second.first != kv.second.first ||
        !same_alpha(it->second.second, kv.second.second))
      return false;
  }
  return true;
}

void add_module_state(StateDict& out, const torch::nn::Module& module, const std::string& path) {
  for (const auto& p : module.named_parameters(/*recurse=*/true))
    out[kAdapterKeyPrefix + path + "." + p.key()] = p.value();
  for (const auto& b : module.named_buffers(/*recurse=*/true))
    out[kAdapterKeyPrefix + path + "." + b.key()] = b.value();
}

StateDict read_adapter_weights(const fs::path& dir, fs::path* file) {
  *file = dir / kAdapterWeightsFile;
  if (fs::exists(*file)) return load_safetensors(*file);
  *file = dir / "adapter_model.bin";
  if (fs::exists(*file)) return load_torch_bin(*file);
  throw_error(dir.string(), ": no ", kAdapterWeightsFile, " (nor adapter_model.bin)");
}

// Where a key's expected shape comes from, for error messages.
std::string origin_of_shape(const PeftModel& peft, const std::string& key) {
  const char* rank_name = peft.type == PeftType::lora ? "r = " : "bottleneck_size = ";
  for (const auto& kv : peft.layers)
    if (key.rfind(kAdapterKeyPrefix + kv.first + ".", 0) == 0)
      return rank_name + std::to_string(kv.second->rank()) + " for '" + kv.first + "' from " +
             kAdapterConfigFile;
  return "the base model's module (num_labels or hidden size differ?)";
}

void load_weights_into(PeftModel& peft, const StateDict& weights, const fs::path& file) {
  auto expected = adapter_state_dict(peft);
  for (const auto& kv : weights)
    LP_CHECK(expected.count(kv.first) != 0, file.string(), ": unexpected key '", kv.first,
             "': not a weight of a module that ", kAdapterConfigFile,
             " targets on this model, nor of modules_to_save (adapter for another model or "
             "config?)");
  for (const auto& kv : expected) {
    auto it = weights.find(kv.first);
    LP_CHECK(it != weights.end(), file.string(), ": missing key '", kv.first, "' (",
             kAdapterConfigFile, " says this module has PEFT weights)");
    LP_CHECK(it->second.sizes() == kv.second.sizes(), file.string(), ": key '", kv.first,
             "' has shape ", shape_of(it->second), ", expected ", shape_of(kv.second), " (",
             origin_of_shape(peft, kv.first), ")");
  }
  torch::NoGradGuard no_grad;
  for (auto& kv : expected) kv.second.copy_(weights.at(kv.first));
}

}  // namespace

LoraConfig effective_lora_config(const PeftModel& peft) {
  LP_CHECK(peft.type == PeftType::lora, "effective_lora_config: not a LoRA model");
  LoraConfig c = peft.lora_config;
  c.modules_to_save = effective_modules_to_save(*peft.model, c.modules_to_save, c.task_type);
  std::map<std::string, std::pair<int64_t, double>> actual;
  for (const auto& kv : peft.layers)
    if (auto lora = peft.lora(kv.first); lora && lora->r() > 0)
      actual[kv.first] = {lora->r(), lora->effective_alpha()};
  if (describes(*peft.model, c, actual)) return c;
  LP_CHECK(!actual.empty(), "save_adapter: no module has LoRA left (all ranks pruned); HF PEFT "
                            "cannot represent an adapter without target modules");
  // Name every module with LoRA by its full path; HF matches a full path exactly (list entry) and
  // as a rank_pattern/alpha_pattern key.
  std::vector<std::string> paths;
  c.rank_pattern.clear();
  c.alpha_pattern.clear();
  for (const auto& kv : actual) {
    paths.push_back(kv.first);
    if (kv.second.first != c.r) c.rank_pattern.emplace_back(kv.first, kv.second.first);
    if (!same_alpha(kv.second.second, c.lora_alpha))
      c.alpha_pattern.emplace_back(kv.first, kv.second.second);
  }
  c.target_modules = TargetModules::list(paths);
  c.layers_to_transform.clear();
  c.exclude_modules = {};
  return c;
}

AdapterConfig effective_adapter_config(const PeftModel& peft) {
  LP_CHECK(peft.type == PeftType::bottleneck, "effective_adapter_config: not an adapter model");
  AdapterConfig c = peft.adapter_config;
  c.modules_to_save = effective_modules_to_save(*peft.model, c.modules_to_save, c.task_type);
  std::map<std::string, int64_t> actual;
  for (const auto& kv : peft.layers)
    if (kv.second->rank() > 0) actual[kv.first] = kv.second->rank();
  std::map<std::string, int64_t> expected;
  for (const auto& path : resolve_target_paths(*peft.model, c)) {
    const int64_t w = match_pattern(c.rank_pattern, path).value_or(c.bottleneck_size);
    if (w > 0) expected[path] = w;
  }
  if (expected == actual) return c;
  LP_CHECK(!actual.empty(), "save_adapter: no module has an adapter left (all widths pruned)");
  std::vector<std::string> paths;
  c.rank_pattern.clear();
  for (const auto& kv : actual) {
    paths.push_back(kv.first);
    if (kv.second != c.bottleneck_size) c.rank_pattern.emplace_back(kv.first, kv.second);
  }
  c.target_modules = TargetModules::list(paths);
  c.layers_to_transform.clear();
  c.exclude_modules = {};
  return c;
}

StateDict adapter_state_dict(const PeftModel& peft) {
  StateDict out;
  for (const auto& kv : peft.layers)
    for (const auto& [name, weight] : kv.second->peft_weights())
      out[kAdapterKeyPrefix + kv.first + "." + name] = weight;
  auto modules = peft.model->named_modules("", /*include_self=*/false);
  for (const auto& path : peft.modules_to_save) {
    LP_CHECK(modules.contains(path), "adapter_state_dict: no module '", path, "'");
    add_module_state(out, *modules[path], path);
  }
  return out;
}

void save_adapter(const PeftModel& peft, const fs::path& dir) {
  LP_CHECK(peft.model != nullptr, "save_adapter: null model");
  std::error_code ec;
  fs::create_directories(dir, ec);
  LP_CHECK(!ec, dir.string(), ": cannot create directory: ", ec.message());
  const std::string config_json = peft.type == PeftType::lora
                                      ? lora_config_to_json(effective_lora_config(peft))
                                      : adapter_config_to_json(effective_adapter_config(peft));
  StateDict tensors;
  for (const auto& kv : adapter_state_dict(peft)) tensors[kv.first] = kv.second.detach();
  // Weights first: a reader that finds the new config also finds weights (of this save or the
  // previous one with the same layout only if nothing changed; each file alone is atomic).
  save_safetensors(dir / kAdapterWeightsFile, tensors, {{"format", "pt"}});
  write_text_atomic(dir / kAdapterConfigFile, config_json);
  log::info("saved ", to_string(peft.type), " adapter (", tensors.size(), " tensors) to ",
            dir.string());
}

PeftModel load_adapter(TaskModel base, const fs::path& dir) {
  LP_CHECK(base != nullptr, "load_adapter: null base model");
  const fs::path config_file = dir / kAdapterConfigFile;
  LP_CHECK(fs::exists(config_file), dir.string(), ": no ", kAdapterConfigFile,
           " (not an adapter directory)");
  const std::string text = read_text(config_file);
  const std::string origin = config_file.string();
  const PeftType type = peft_type_of(text, origin);
  fs::path weights_file;
  StateDict weights = read_adapter_weights(dir, &weights_file);
  std::vector<std::pair<at::Tensor, bool>> trainable;  // to restore on failure
  for (const auto& p : base->parameters()) trainable.emplace_back(p, p.requires_grad());
  PeftModel peft = type == PeftType::lora ? inject_lora(base, parse_lora_config(text, origin))
                                          : inject_adapters(base, parse_adapter_config(text, origin));
  try {
    load_weights_into(peft, weights, weights_file);
  } catch (...) {
    unload(peft);  // leave the caller's model as it was
    for (auto& [p, flag] : trainable) p.set_requires_grad(flag);
    throw;
  }
  return peft;
}

}  // namespace lightpeft
