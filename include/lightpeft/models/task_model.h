#pragma once
// A model for one task: a family's backbone plus a head, as HF's <Family>For<Task> classes, with
// their state-dict keys ("bert.encoder.layer.0...", "classifier.weight"; "model.layers.0...",
// "lm_head.weight"). This is what PEFT, pruning and the trainer see of any model.
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "lightpeft/models/backbone.h"
#include "lightpeft/models/family.h"
#include "lightpeft/models/heads.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/models/model_io.h"

namespace lightpeft {

class TaskModelImpl : public torch::nn::Module {
 public:
  // Builds the family's backbone and `head` with zero weights (make_task_model initialises them).
  TaskModelImpl(ModelConfig config, HeadKind head);

  ModelOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                      bool output_hidden_states = false);

  BackboneImpl& backbone() const { return *backbone_; }
  Head& head() const { return *head_; }
  HeadKind head_kind() const { return head_kind_; }
  const ModelFamily& family() const { return *family_; }
  const ModelConfig& config() const { return config_; }
  int64_t num_layers() const { return backbone_->num_layers(); }
  PrunableLayer& layer(int64_t index) const { return backbone_->layer(index); }
  // The backbone's key prefix in HF checkpoints ("bert", "roberta", "model", "transformer").
  const std::string& base_model_prefix() const { return family_->base_model_prefix; }
  // The head's modules (HF modules_to_save): "classifier", "score", "qa_outputs"; none for an LM.
  std::vector<std::string> head_module_names() const { return head_->module_names(); }
  // Keeps config().attention_units_per_layer / intermediate_per_layer true after physical pruning.
  void sync_config_with_modules();

 private:
  ModelConfig config_;
  HeadKind head_kind_;
  const ModelFamily* family_;
  Backbone backbone_;
  std::unique_ptr<Head> head_;
};
using TaskModel = std::shared_ptr<TaskModelImpl>;

// A randomly initialised model (the family's HF _init_weights, seeded through torch::manual_seed).
TaskModel make_task_model(const ModelConfig& config, HeadKind head);

// Total parameter count (all parameters, trainable or not).
int64_t count_parameters(const torch::nn::Module& module);

}  // namespace lightpeft
