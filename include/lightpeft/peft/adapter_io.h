#pragma once
// Adapter files in HF PEFT's layout, so adapters move between lightpeft and HF PEFT:
//   adapter_config.json        the config (peft_type "LORA", r, lora_alpha, target_modules, ...)
//   adapter_model.safetensors  "base_model.model.<path>.lora_A.weight" / ".lora_B.weight" and the
//                              modules to save under their plain keys
//                              ("base_model.model.classifier.weight"), as peft 0.21 writes them.
// Per-module ranks (after rank pruning, or r = 0 after module pruning) are written so that HF PEFT
// rebuilds the same modules: when the config no longer describes the model, target_modules becomes
// the list of module paths that have LoRA, rank_pattern/alpha_pattern carry each module's rank
// and the alpha that reproduces its (unchanged) scaling.
#include <filesystem>
#include <string>

#include "lightpeft/io/state_dict.h"
#include "lightpeft/peft/inject.h"

namespace lightpeft {

inline constexpr const char* kAdapterConfigFile = "adapter_config.json";
inline constexpr const char* kAdapterWeightsFile = "adapter_model.safetensors";
inline constexpr const char* kAdapterKeyPrefix = "base_model.model.";

// The config that rebuilds `peft` exactly (the injected config itself when it still does).
LoraConfig effective_lora_config(const PeftModel& peft);
AdapterConfig effective_adapter_config(const PeftModel& peft);

// The tensors of adapter_model.safetensors (HF keys, CPU copies not taken: the module's tensors).
StateDict adapter_state_dict(const PeftModel& peft);

// Writes adapter_config.json and adapter_model.safetensors into `dir` (created if needed), each
// atomically. A merged LoRA model is saved with its LoRA weights (the base weights are not saved).
void save_adapter(const PeftModel& peft, const std::filesystem::path& dir);

// Reads `dir`'s adapter_config.json, injects it into `base` (which must be the plain base model)
// and loads adapter_model.safetensors (or adapter_model.bin). Every LoRA/adapter key the config
// implies must be present with the shape its rank implies; an unknown key, a missing key, a shape
// mismatch or an unsupported peft_type throws lightpeft::Error naming the file and the key, and
// leaves `base` as it was.
PeftModel load_adapter(TaskModel base, const std::filesystem::path& dir);

}  // namespace lightpeft
