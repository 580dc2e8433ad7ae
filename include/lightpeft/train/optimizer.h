#pragma once
// AdamW (decoupled weight decay, as torch.optim.AdamW) over named parameter groups: weights decay,
// biases and LayerNorm parameters do not (HF Trainer's rule), and callers may add groups of their
// own (Light-PEFT's masks: their own learning rate, no decay). The learning-rate schedules
// (linear / cosine / constant with warmup, HF's formulas) scale each group's base rate.
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/optim/adamw.h>

#include "lightpeft/train/train_config.h"

namespace lightpeft {

struct ParamGroup {
  std::string name;
  std::vector<torch::Tensor> params;
  double lr = 0.0;  // base learning rate (before the schedule)
  double weight_decay = 0.0;
};

// The trainable parameters (requires_grad) of `module`, split into "decay" and "no_decay" (names
// ending in ".bias" or containing "LayerNorm"), skipping any tensor in `exclude`.
std::vector<ParamGroup> default_param_groups(const torch::nn::Module& module, const OptimConfig& optim,
                                             const std::vector<torch::Tensor>& exclude = {});

class Optimizer {
 public:
  Optimizer(std::vector<ParamGroup> groups, const OptimConfig& optim);
  // Sets every group's rate to base * multiplier.
  void set_lr_multiplier(double multiplier);
  double lr(size_t group = 0) const;
  // Clips the global L2 norm of all gradients (max_norm <= 0: no clipping); returns the norm before
  // clipping.
  double clip_grad_norm(double max_norm);
  void step() { adamw_->step(); }
  void zero_grad() { adamw_->zero_grad(/*set_to_none=*/true); }
  torch::optim::AdamW& adamw() { return *adamw_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  // Every parameter of every group.
  std::vector<torch::Tensor> parameters() const;

 private:
  std::vector<ParamGroup> groups_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
};

// HF get_{linear,cosine,constant}_schedule_with_warmup multiplier at `step` (0-based).
double lr_multiplier(LrScheduler scheduler, int64_t step, int64_t total_steps,
                     int64_t warmup_steps);
// warmup_steps if > 0, else ceil(warmup_ratio * total_steps) (HF's rule).
int64_t warmup_steps_for(const OptimConfig& optim, int64_t total_steps);

}  // namespace lightpeft
