#include "lightpeft/train/optimizer.h"

#include <cmath>
#include <unordered_set>

#include <torch/nn/modules/normalization.h>
#include <torch/nn/utils/clip_grad.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/norms.h"

namespace lightpeft {

std::vector<ParamGroup> default_param_groups(const torch::nn::Module& module, const OptimConfig& optim,
                                             const std::vector<torch::Tensor>& exclude) {
  ParamGroup decay{"decay", {}, optim.learning_rate, optim.weight_decay};
  ParamGroup no_decay{"no_decay", {}, optim.learning_rate, 0.0};
  auto excluded = [&](const torch::Tensor& t) {
    for (const auto& e : exclude)
      if (e.unsafeGetTensorImpl() == t.unsafeGetTensorImpl()) return true;
    return false;
  };
  // HF Trainer's rule: no decay on biases and on normalisation weights. Norms are found by type
  // (LLaMA's RMSNorm `input_layernorm`, OPT's `final_layer_norm`, GPT-2's `ln_1`), and by BERT's name.
  std::unordered_set<const c10::TensorImpl*> norm_params;
  auto add_if_norm = [&](const torch::nn::Module& m) {
    if (dynamic_cast<const torch::nn::LayerNormImpl*>(&m) || dynamic_cast<const RmsNormImpl*>(&m))
      for (const auto& t : m.parameters(/*recurse=*/false)) norm_params.insert(t.unsafeGetTensorImpl());
  };
  add_if_norm(module);  // (modules(include_self) needs a module held by a shared_ptr)
  for (const auto& m : module.modules(/*include_self=*/false)) add_if_norm(*m);
  for (const auto& p : module.named_parameters(/*recurse=*/true)) {
    if (!p.value().requires_grad() || excluded(p.value())) continue;
    const std::string& name = p.key();
    const bool is_bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    const bool is_norm = norm_params.count(p.value().unsafeGetTensorImpl()) || name.find("LayerNorm") != std::string::npos;
    (is_bias || is_norm ? no_decay : decay).params.push_back(p.value());
  }
  std::vector<ParamGroup> groups;
  for (auto* g : {&decay, &no_decay})
    if (!g->params.empty()) groups.push_back(std::move(*g));
  return groups;
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, const OptimConfig& optim)
    : groups_(std::move(groups)) {
  LP_CHECK(!groups_.empty(), "optimizer: no trainable parameters");
  std::vector<torch::optim::OptimizerParamGroup> torch_groups;
  for (const auto& g : groups_) {
    auto opts = std::make_unique<torch::optim::AdamWOptions>(g.lr);
    opts->betas({optim.adam_beta1, optim.adam_beta2}).eps(optim.adam_epsilon).weight_decay(g.weight_decay);
    torch_groups.emplace_back(g.params, std::move(opts));
  }
  torch::optim::AdamWOptions defaults(optim.learning_rate);
  defaults.betas({optim.adam_beta1, optim.adam_beta2}).eps(optim.adam_epsilon).weight_decay(optim.weight_decay);
  adamw_ = std::make_unique<torch::optim::AdamW>(std::move(torch_groups), defaults);
}

void Optimizer::set_lr_multiplier(double multiplier) {
  auto& pg = adamw_->param_groups();
  for (size_t i = 0; i < pg.size(); ++i)
    static_cast<torch::optim::AdamWOptions&>(pg[i].options()).lr(groups_[i].lr * multiplier);
}

double Optimizer::lr(size_t group) const {
  return static_cast<const torch::optim::AdamWOptions&>(adamw_->param_groups().at(group).options()).lr();
}

std::vector<torch::Tensor> Optimizer::parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& g : groups_) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

double Optimizer::clip_grad_norm(double max_norm) {
  std::vector<torch::Tensor> params;
  for (const auto& p : parameters())
    if (p.grad().defined()) params.push_back(p);
  if (params.empty()) return 0.0;
  if (max_norm <= 0) max_norm = std::numeric_limits<double>::infinity();
  return torch::nn::utils::clip_grad_norm_(params, max_norm);
}

double lr_multiplier(LrScheduler scheduler, int64_t step, int64_t total, int64_t warmup) {
  if (step < warmup) return static_cast<double>(step) / std::max<int64_t>(1, warmup);
  if (scheduler == LrScheduler::constant) return 1.0;
  const double progress =
      static_cast<double>(step - warmup) / std::max<int64_t>(1, total - warmup);
  if (scheduler == LrScheduler::linear) return std::max(0.0, 1.0 - progress);
  if (scheduler == LrScheduler::cosine) return std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
  throw_error("unknown scheduler ", static_cast<int>(scheduler), " (expected linear, cosine or constant)");
}

int64_t warmup_steps_for(const OptimConfig& optim, int64_t total_steps) {
  if (optim.warmup_steps > 0) return optim.warmup_steps;
  return static_cast<int64_t>(std::ceil(optim.warmup_ratio * static_cast<double>(total_steps)));
}

}  // namespace lightpeft
