#pragma once
// Adding PEFT to a model by target names, as HF PEFT's LoraModel: every linear layer whose module
// path matches `target_modules` (and `layers_to_transform`, minus `exclude_modules` and anything
// inside `modules_to_save`) is wrapped in place; then only the PEFT parameters and the
// `modules_to_save` (the classifier head) stay trainable.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "lightpeft/models/task_model.h"
#include "lightpeft/peft/bottleneck_adapter.h"
#include "lightpeft/peft/lora_linear.h"
#include "lightpeft/peft/peft_config.h"
#include "lightpeft/peft/peft_layer.h"

namespace lightpeft {

// A model with PEFT injected: the model itself (its modules now include the wrappers) and the
// wrappers by module path ("bert.encoder.layer.0.attention.self.query"), LoRA or adapters alike.
struct PeftModel {
  TaskModel model;
  PeftType type = PeftType::lora;
  LoraConfig lora_config;        // type == lora
  AdapterConfig adapter_config;  // type == bottleneck
  // By module path (sorted as strings). May hold rank-0 layers after rank pruning.
  std::map<std::string, PeftLayerPtr> layers;
  std::vector<std::string> modules_to_save;  // resolved module paths, e.g. "classifier"

  std::vector<std::string> injected_paths() const;
  // The layer at `path` as a LoRA / adapter layer (null when it is not one, or not there).
  template <typename Layer>
  std::shared_ptr<Layer> layer_as(const std::string& path) const {
    auto it = layers.find(path);
    return it == layers.end() ? nullptr : std::dynamic_pointer_cast<Layer>(it->second);
  }
  std::shared_ptr<LoraLinearImpl> lora(const std::string& path) const { return layer_as<LoraLinearImpl>(path); }
  ModelOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {}) {
    return model->forward(inputs, masks);
  }
};

// ---- HF matching rules, exposed for tests and for the pruning stage ----
// The layer index of a module path: the first number that is a whole path component after at
// least two components ("bert.encoder.layer.3.output.dense" -> 3), as HF's r".*?\.[^.]*\.(\d+)\.".
std::optional<int64_t> layer_index_of(const std::string& path);
// HF check_target_module_exists for one path (list: exact or "." + suffix; regex: full match);
// layers_to_transform filters list targets only.
bool matches_targets(const TargetModules& targets, const std::vector<int64_t>& layers_to_transform,
                     const std::string& path);
// HF get_pattern_key: the first key k with `(.*\.)?(k)` matching the whole path.
template <typename T>
std::optional<T> match_pattern(const PatternMap<T>& patterns, const std::string& path);
// Paths of the linear layers PEFT can wrap (the slots of LinearHost modules), sorted.
std::vector<std::string> linear_paths(const torch::nn::Module& model);
// The linear paths `config` (LoraConfig or AdapterConfig) selects on `model`, with every HF rule
// (targets, layers_to_transform, exclude_modules, nothing inside modules_to_save), in module order.
// Modules inside PEFT wrappers are never candidates, so this works on injected models too.
template <typename Config>
std::vector<std::string> resolve_target_paths(const TaskModelImpl& model, const Config& config);
// HF modules_to_save for a model: the config's names plus, for SEQ_CLS and QUESTION_ANS, the
// model's head ("classifier", "score", "qa_outputs").
std::vector<std::string> effective_modules_to_save(const TaskModelImpl& model,
                                                   std::vector<std::string> names,
                                                   const std::string& task_type);

// Wraps every matched linear with LoraLinear (r and alpha per module from rank_pattern /
// alpha_pattern; r = 0 leaves the linear unwrapped), then freezes everything except LoRA and the
// modules to save. For SEQ_CLS the model's head ("classifier") is added to modules_to_save as HF
// does. Throws lightpeft::Error when nothing matches, when a match is not a linear layer, or when
// the model already has PEFT modules.
// A fan_in_fan_out base (GPT-2's Conv1D) sets the config's fan_in_fan_out, as HF PEFT does.
PeftModel inject_lora(TaskModel model, const LoraConfig& config);
// The same for bottleneck adapters (per-module width through rank_pattern).
PeftModel inject_adapters(TaskModel model, const AdapterConfig& config);

// requires_grad only on LoRA/adapter weights and the modules to save (HF
// mark_only_lora_as_trainable + ModulesToSaveWrapper); inject_* already call it.
void mark_only_peft_trainable(PeftModel& peft);
// HF print_trainable_parameters' line: "trainable params: 1,043 || all params: 14,078 ||
// trainable%: 7.4087".
std::string trainable_parameter_report(const torch::nn::Module& model);

// merge() / unmerge() on every LoRA module.
void merge_lora(PeftModel& peft);
void unmerge_lora(PeftModel& peft);
// Folds every LoRA update into its base weight and puts the plain Dense back in each slot, leaving
// a model with HF's plain keys (what `lightpeft export --merge` writes). Clears peft.layers.
// Bottleneck adapters are nonlinear and cannot be merged: throws for them.
TaskModel merge_and_unload(PeftModel& peft);
// For inference only (predict, generate): merge_and_unload when every PEFT layer can be folded into
// its base weight (LoRA), the model as it is otherwise (bottleneck adapters are nonlinear). The same
// outputs up to float rounding, one GEMM per linear instead of three (at r 8 no measurable speed-up
// on the CPU: docs/benchmarks.md).
TaskModel merge_for_inference(PeftModel& peft);
// Puts the base layers back without merging (HF's unload()): the model computes what it did before
// injection. Works for LoRA and adapters; clears peft.layers.
TaskModel unload(PeftModel& peft);

}  // namespace lightpeft
