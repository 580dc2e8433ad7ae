#pragma once
// The model families lightpeft implements, keyed by config.json's model_type (as HF's auto
// classes): how to build a family's backbone and heads, the prefix of its backbone's keys, its
// default LoRA targets (HF PEFT's per-architecture map) and the linear layers Light-PEFT's estimate
// stage adapts (every linear of a layer). A new family is its modeling file(s), a config codec and
// one line in families.cpp.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "lightpeft/models/backbone.h"
#include "lightpeft/models/heads.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

struct ModelFamily {
  std::string model_type;         // "bert", "roberta", "llama", ...
  std::string base_model_prefix;  // the backbone's key prefix in HF checkpoints with a head
  std::vector<HeadKind> heads;    // the heads it supports
  // HF PEFT's default LoRA target_modules for the architecture (TRANSFORMERS_MODELS_TO_LORA_...).
  std::vector<std::string> default_lora_targets;
  // Every linear of a layer, as target_modules suffixes: Light-PEFT's estimate set.
  std::vector<std::string> all_linear_targets;
  // Bottleneck adapters: after attention's output projection and the MLP's (Houlsby, as
  // target_modules suffixes), after the MLP's alone (Pfeiffer, as a regex on the module path).
  std::vector<std::string> houlsby_adapter_targets;
  std::string pfeiffer_adapter_regex;
  std::function<Backbone(const ModelConfig&, HeadKind)> make_backbone;
  // Registers the head's modules on `owner` (after the backbone).
  std::function<std::unique_ptr<Head>(torch::nn::Module& owner, const ModelConfig&, HeadKind,
                                      BackboneImpl& backbone)>
      make_head;
  // Random init as the family's HF _init_weights (seeded by the caller).
  std::function<void(torch::nn::Module& model, const ModelConfig&)> init_weights;
  // HF's class name for `architectures` in config.json ("BertForSequenceClassification").
  std::function<std::string(HeadKind)> architecture;

  bool supports(HeadKind head) const;
};

// The family of `model_type`; throws naming `origin` (a config file) and listing the families.
const ModelFamily& model_family(const std::string& model_type, const std::string& origin = "model config");
// Every registered family, in registry order.
const std::vector<ModelFamily>& model_families();

// The families' own definitions (one per modeling file).
ModelFamily bert_family();
ModelFamily roberta_family();
ModelFamily llama_family();
ModelFamily mistral_family();
ModelFamily opt_family();
ModelFamily gpt2_family();

}  // namespace lightpeft
