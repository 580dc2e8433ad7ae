#include "lightpeft/models/task_model.h"

#include "lightpeft/core/error.h"

namespace lightpeft {

TaskModelImpl::TaskModelImpl(ModelConfig config, HeadKind head)
    : config_(std::move(config)), head_kind_(head), family_(&model_family(config_.model_type)) {
  validate_model_config(config_, "model config");
  LP_CHECK(family_->supports(head), "model_type '", config_.model_type, "' has no ", to_string(head),
           " head in lightpeft");
  backbone_ = register_module(family_->base_model_prefix, family_->make_backbone(config_, head));
  head_ = family_->make_head(*this, config_, head, *backbone_);
}

ModelOutput TaskModelImpl::forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks,
                                   bool output_hidden_states) {
  BackboneOutput out = backbone_->forward(inputs, masks, output_hidden_states);
  ModelOutput result;
  if (inputs.loss_targets.defined())
    result.loss = head_->loss(out, inputs);
  else
    result.logits = head_->forward(out, inputs);
  result.last_hidden_state = out.last_hidden_state;
  result.hidden_states = std::move(out.hidden_states);
  return result;
}

void TaskModelImpl::sync_config_with_modules() {
  for (int64_t l = 0; l < backbone_->num_layers(); ++l) {
    config_.attention_units_per_layer[l] = backbone_->layer(l).attention_units().count;
    config_.intermediate_per_layer[l] = backbone_->layer(l).mlp_neurons().count;
  }
}

TaskModel make_task_model(const ModelConfig& config, HeadKind head) {
  auto model = std::make_shared<TaskModelImpl>(config, head);
  model->family().init_weights(*model, model->config());
  return model;
}

int64_t count_parameters(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace lightpeft
