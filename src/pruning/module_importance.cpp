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
#include "linear_slot.h"

namespace lightpeft {
namespace {

using pruning_detail::find_linear_slot;

// Stands in a LoRA slot while recording: the LoraLinear's own children are registered under their
// names, so keys and parameters are those of the LoraLinear; forward computes what
// LoraLinear::forward computes and reports (W x + b, delta) to the recorder in training mode.
class LoraProbe : public LinearLayer {
 public:
  LoraProbe(LoraLinear lora, ModuleImportance* recorder, size_t index)
      : lora_(std::move(lora)), recorder_(recorder), index_(index) {
    register_module("base_layer", lora_->base_layer);
    register_module("lora_dropout", lora_->lora_dropout);
    if (lora_->lora_A) register_module("lora_A", lora_->lora_A);
    if (lora_->lora_B) register_module("lora_B", lora_->lora_B);
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    if (lora_->r() == 0 || lora_->merged()) return lora_->forward(x);
    if (is_training() && kernels::use_fused(x)) {  // the ratio rides on the fused LoRA pass
      kernels::ModuleRatioSink sink;
      const bool record = recorder_->ratio_sink(index_, x, sink);
      return kernels::lora_linear(x, lora_->base_layer->weight, lora_->base_layer->bias,
                                  lora_->lora_A->weight, lora_->lora_B->weight, lora_->scaling(),
                                  lora_->lora_dropout->forward(x), record ? &sink : nullptr);
    }
    auto result = lora_->base_layer->forward(x);
    auto delta = lora_->lora_delta(x);
    if (is_training()) recorder_->observe(index_, result, delta);
    return result + delta;
  }
  int64_t in_features() const override { return lora_->in_features(); }
  int64_t out_features() const override { return lora_->out_features(); }
  void prune(const torch::Tensor& index, int64_t dim) override { lora_->prune(index, dim); }
  LinearPtr original() const { return lora_.ptr(); }

 private:
  LoraLinear lora_;
  ModuleImportance* recorder_;
  size_t index_;
};

// The same for a bottleneck adapter: ratio ||adapter(y)|| / ||y|| with y the base output.
class AdapterProbe : public LinearLayer {
 public:
  AdapterProbe(BottleneckAdapter adapter, ModuleImportance* recorder, size_t index)
      : adapter_(std::move(adapter)), recorder_(recorder), index_(index) {
    register_module("base_layer", adapter_->base_layer);
    register_module("adapter_dropout", adapter_->adapter_dropout);
    if (adapter_->adapter_down) register_module("adapter_down", adapter_->adapter_down);
    if (adapter_->adapter_up) register_module("adapter_up", adapter_->adapter_up);
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    if (adapter_->bottleneck_size() == 0) return adapter_->forward(x);
    auto y = adapter_->base_layer->forward(x);
    auto delta = adapter_->adapter_delta(y);
    if (is_training()) recorder_->observe(index_, y, delta);
    return y + delta;
  }
  int64_t in_features() const override { return adapter_->in_features(); }
  int64_t out_features() const override { return adapter_->out_features(); }
  void prune(const torch::Tensor& index, int64_t dim) override { adapter_->prune(index, dim); }

 private:
  BottleneckAdapter adapter_;
  ModuleImportance* recorder_;
  size_t index_;
};

}  // namespace

ModuleImportance::ModuleImportance(PeftModel& peft, int64_t total_steps)
    : peft_(peft), total_steps_(total_steps) {
  LP_CHECK(total_steps > 0, "ModuleImportance: total_steps must be > 0, got ", total_steps);
  for (const auto& kv : peft_.lora)
    if (kv.second->r() > 0) paths_.push_back(kv.first);
  for (const auto& kv : peft_.adapters)
    if (kv.second->bottleneck_size() > 0) paths_.push_back(kv.first);
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
  probes_.clear();
  for (size_t i = 0; i < paths_.size(); ++i) {
    const auto& path = paths_[i];
    auto slot = find_linear_slot(*peft_.model, path);
    std::shared_ptr<LinearLayer> probe;
    if (auto it = peft_.lora.find(path); it != peft_.lora.end())
      probe = std::make_shared<LoraProbe>(it->second, this, i);
    else
      probe = std::make_shared<AdapterProbe>(peft_.adapters.at(path), this, i);
    probe->train(peft_.model->is_training());
    slot.host->replace_linear(slot.name, probe);
    probes_.push_back(probe);
  }
  attached_ = true;
}

void ModuleImportance::detach() {
  if (!attached_) return;
  for (const auto& path : paths_) {
    auto slot = find_linear_slot(*peft_.model, path);
    if (auto it = peft_.lora.find(path); it != peft_.lora.end())
      slot.host->replace_linear(slot.name, it->second.ptr());
    else
      slot.host->replace_linear(slot.name, peft_.adapters.at(path).ptr());
  }
  probes_.clear();
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

}  // namespace lightpeft
