#include "lightpeft/pruning/foundation_importance.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/sign.h>
#include <ATen/ops/zeros_like.h>

#include "lightpeft/core/error.h"

namespace lightpeft {
namespace {

torch::Tensor cpu_vector(const torch::Tensor& t) {
  return t.detach().reshape({-1}).to(at::kCPU, at::kFloat).clone();
}

// HF bertology: importance /= (L2 norm of the layer's vector + 1e-20).
torch::Tensor normalise_by_layer(const torch::Tensor& v) {
  auto x = cpu_vector(v);
  return x / (x.pow(2).sum().sqrt() + 1e-20);
}

}  // namespace

FoundationScores mask_value_scores(const FoundationMasks& masks) {
  FoundationScores s;
  for (int64_t l = 0; l < masks->num_layers(); ++l) {
    s.heads.push_back(cpu_vector(masks->layer_at(l)->early_attn_mask));
    s.neurons.push_back(cpu_vector(masks->layer_at(l)->early_ffn_mask));
  }
  return s;
}

TaylorImportance::TaylorImportance(const FoundationMasks& masks) : masks_(masks) {
  for (int64_t l = 0; l < masks_->num_layers(); ++l) {
    head_sum_.push_back(at::zeros_like(masks_->layer_at(l)->early_attn_mask).detach());
    neuron_sum_.push_back(at::zeros_like(masks_->layer_at(l)->early_ffn_mask).detach());
  }
}

void TaylorImportance::accumulate(double l1_lambda) {
  torch::NoGradGuard no_grad;
  auto add = [&](torch::Tensor& sum, const torch::Tensor& mask) {
    const auto& g = mask.grad();
    if (!g.defined()) return;
    if (sum.device() != g.device()) sum = sum.to(g.device());
    // d(lambda |m|)/dm = lambda sign(m): remove the L1 part, keep the task loss's gradient.
    auto task_grad = l1_lambda != 0.0 ? g - l1_lambda * at::sign(mask.detach()) : g;
    sum.add_(at::abs(task_grad));
  };
  for (int64_t l = 0; l < masks_->num_layers(); ++l) {
    add(head_sum_[l], masks_->layer_at(l)->early_attn_mask);
    add(neuron_sum_[l], masks_->layer_at(l)->early_ffn_mask);
  }
  ++count_;
}

FoundationScores TaylorImportance::scores() const {
  FoundationScores s;
  for (size_t l = 0; l < head_sum_.size(); ++l) {
    s.heads.push_back(normalise_by_layer(head_sum_[l]));
    s.neurons.push_back(normalise_by_layer(neuron_sum_[l]));
  }
  return s;
}

void check_foundation_importance(const std::string& name) {
  LP_CHECK(name == "mask" || name == "taylor", "importance: expected \"mask\" or \"taylor\", got \"",
           name, "\"");
}

}  // namespace lightpeft
