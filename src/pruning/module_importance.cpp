#include "lightpeft/pruning/module_importance.h"

#include <algorithm>

#include <ATen/ops/linalg_vector_norm.h>
#include <ATen/ops/nan_to_num.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/pruning/estimate_window.h"

namespace lightpeft {
ModuleImportance::ModuleImportance(PeftModel& peft, int64_t total_steps)
    : peft_(peft), total_steps_(total_steps) {
  LP_CHECK(total_steps > 0, "ModuleImportance: total_steps must be > 0, got ", total_steps);
  for (const auto& [path, layer] : peft_.layers)
    if (layer->rank() > 0) paths_.push_back(path);
}

ModuleImportance::~ModuleImportance() {
  try {
    detach();
  } catch (...) {
    // A destructor must not throw; detach only fails on a model changed behind our back.
  }
}

void ModuleImportance::attach() {
  if (attached_) return;
  for (size_t i = 0; i < paths_.size(); ++i) peft_.layers.at(paths_[i])->set_observer(this, i);
  attached_ = true;
}

void ModuleImportance::detach() {
  if (!attached_) return;
  for (const auto& path : paths_)
    if (auto it = peft_.layers.find(path); it != peft_.layers.end()) it->second->set_observer(nullptr, 0);
  attached_ = false;
}

void ModuleImportance::begin_step(int64_t step, const torch::Tensor& attention_mask) {
  recording_ = in_recorded_half(step, total_steps_);
  set_attention_mask(attention_mask);
  if (step_sum_.defined()) {
    step_sum_.zero_();
    step_tokens_.zero_();
  }
}

void ModuleImportance::set_attention_mask(const torch::Tensor& attention_mask) {
  token_mask_ = attention_mask.defined() ? attention_mask.detach() != 0 : torch::Tensor();
  token_count_ = torch::Tensor();  // counted on the device at the first observe
}

void ModuleImportance::ensure_buffers(const torch::Tensor& like) {
  if (step_sum_.defined() && step_sum_.device() == like.device()) return;
  const auto m = static_cast<int64_t>(paths_.size());
  auto options = at::TensorOptions().dtype(at::kFloat).device(like.device());
  step_sum_ = at::zeros({m}, options);
  step_tokens_ = at::zeros({m}, options);
  total_ = total_.defined() ? total_.to(like.device()) : at::zeros({m}, options);
}

void ModuleImportance::observe(size_t index, const torch::Tensor& base_output,
                               const torch::Tensor& delta) {
  if (!recording_ || !delta.defined()) return;
  torch::NoGradGuard no_grad;
  ensure_buffers(base_output);
  // Per token over the feature dim, in fp32 (autocast outputs may be bf16/fp16).
  auto num = at::linalg_vector_norm(delta.detach().to(at::kFloat), 2, {-1});
  auto den = at::linalg_vector_norm(base_output.detach().to(at::kFloat), 2, {-1});
  auto ratio = num / den;  // (B, T); 0/0 -> NaN, x/0 -> Inf: the step value becomes 0 below
  torch::Tensor sum, tokens;
  if (token_mask_.defined()) {
    LP_CHECK(token_mask_.sizes() == ratio.sizes(), "ModuleImportance: attention mask of shape ",
             token_mask_.sizes(), " does not fit the module output's tokens ", ratio.sizes());
    if (token_mask_.device() != ratio.device()) token_mask_ = token_mask_.to(ratio.device());
    if (!token_count_.defined()) token_count_ = token_mask_.sum().to(at::kFloat);
    // where, not multiply: a NaN on a padding token must not count (the official code indexes
    // the tokens with attention_mask == 1).
    sum = at::where(token_mask_, ratio, at::zeros({}, ratio.options())).sum();
    tokens = token_count_;
  } else {
    sum = ratio.sum();
    tokens = at::ones({}, ratio.options()) * static_cast<double>(ratio.numel());
  }
  step_sum_.select(0, static_cast<int64_t>(index)).add_(sum);
  step_tokens_.select(0, static_cast<int64_t>(index)).add_(tokens);
}

bool ModuleImportance::ratio_sink(size_t index, const torch::Tensor& like,
                                  kernels::ModuleRatioSink& sink) {
  if (!recording_) return false;
  ensure_buffers(like);
  if (token_mask_.defined() && token_mask_.device() != like.device())
    token_mask_ = token_mask_.to(like.device());
  sink.token_mask = token_mask_;
  sink.ratio_sum = step_sum_.select(0, static_cast<int64_t>(index));
  sink.token_count = step_tokens_.select(0, static_cast<int64_t>(index));
  return true;
}

void ModuleImportance::end_step() {
  if (!recording_) return;
  recording_ = false;
  ++recorded_steps_;
  torch::NoGradGuard no_grad;
  if (step_reducer_) {  // every rank joins, also one that observed no forward yet
    if (!step_sum_.defined()) ensure_buffers(peft_.model->parameters().front());
    std::vector<torch::Tensor> sums{step_sum_, step_tokens_};
    step_reducer_(sums);
    step_sum_.copy_(sums[0]);
    step_tokens_.copy_(sums[1]);
  }
  if (!step_sum_.defined()) return;  // no forward observed: the step's values count as 0
  // A module with no token this step gives 0/0 = NaN -> 0, as the official NaN/Inf -> 0.
  total_.add_(at::nan_to_num(step_sum_ / step_tokens_, 0.0, 0.0, 0.0));
}

std::map<std::string, float> ModuleImportance::scores() const {
  std::map<std::string, float> out;
  torch::Tensor mean;
  if (total_.defined() && recorded_steps_ > 0)
    mean = (total_ / static_cast<double>(recorded_steps_)).to(at::kCPU);
  for (size_t i = 0; i < paths_.size(); ++i)
    out[paths_[i]] = mean.defined() ? mean[static_cast<int64_t>(i)].item<float>() : 0.0f;
  return out;
}

ModuleImportance::Snapshot ModuleImportance::snapshot() const {
  return {total_.defined() ? total_.to(at::kCPU).clone() : torch::Tensor(), recorded_steps_};
}

std::map<std::string, float> ModuleImportance::scores_between(const Snapshot& from, const Snapshot& to) const {
  std::map<std::string, float> out;
  const int64_t steps = to.steps - from.steps;
  for (size_t i = 0; i < paths_.size(); ++i) {
    float v = 0.0f;
    if (steps > 0 && to.total.defined()) {
      const auto idx = static_cast<int64_t>(i);
      const double before = from.total.defined() ? from.total[idx].item<double>() : 0.0;
      v = static_cast<float>((to.total[idx].item<double>() - before) / static_cast<double>(steps));
    }
    out[paths_[i]] = v;
  }
  return out;
}

}  // namespace lightpeft
