#pragma once
// Light-PEFT's coarse PEFT importance (spec 1.2 a): for each PEFT module, how large its update is
// relative to the layer it adapts, per token
//     LoRA:    ||delta_W x||_2 / ||W x + b||_2        (delta = scaling * B A dropout(x))
//     adapter: ||adapter(y)||_2 / ||y||_2             (y = the wrapped linear's output)
// averaged over the non-padding tokens of a step's batch, NaN/Inf step values set to 0, then
// averaged over the second half of the estimate steps (estimate_window.h).
//
// Recording must not slow training: values are computed from detached tensors without autograd,
// summed into device tensors, and nothing is copied to the host until scores().
//
// How it sees the forward: attach() makes it the observer of every PEFT layer (peft_layer.h), whose
// own forward reports (base output, update) in training mode; detach() (or the destructor) stops
// that. Nothing in the model is replaced, so keys, parameters and train/eval stay as they are.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/types.h>

#include "lightpeft/kernels/lora_linear.h"
#include "lightpeft/peft/inject.h"

namespace lightpeft {

class ModuleImportance : public PeftObserver {
 public:
  // Records the PEFT modules of `peft` (LoRA with r > 0, or adapters with width > 0) over an
  // estimate stage of `total_steps` optimiser steps. Does not attach yet. Keeps a reference to
  // `peft`: the PeftModel must outlive this object and stay where it is (not moved).
  ModuleImportance(PeftModel& peft, int64_t total_steps);
  ~ModuleImportance();
  ModuleImportance(const ModuleImportance&) = delete;
  ModuleImportance& operator=(const ModuleImportance&) = delete;

  // Starts / stops observing the PEFT layers. Idempotent.
  void attach();
  void detach();
  bool attached() const { return attached_; }

  // Starts optimiser step `step` (0-based). `attention_mask` (B, T), 1 for tokens: the batch of the
  // next forward (undefined: every position is a token). Steps outside the recorded half cost
  // nothing.
  void begin_step(int64_t step, const torch::Tensor& attention_mask = {});
  // For further micro-batches of the same step (gradient accumulation): their token mask.
  void set_attention_mask(const torch::Tensor& attention_mask);
  // Ends the step: its per-module value = sum of token ratios / number of tokens over the step's
  // forwards, NaN/Inf -> 0, added to the running sum when the step is in the recorded half.
  void end_step();

  // Data parallelism: end_step hands the step's per-module (sum of token ratios, token count) of
  // this process to `sum_over_ranks`, which must replace them in place by their sums over ranks, so
  // that every rank records the value of the global batch (as one process with that batch would).
  void set_step_reducer(std::function<void(std::vector<torch::Tensor>&)> sum_over_ranks) {
    step_reducer_ = std::move(sum_over_ranks);
  }

  // Module paths in recording order (PeftModel::injected_paths()).
  const std::vector<std::string>& paths() const { return paths_; }
  int64_t recorded_steps() const { return recorded_steps_; }
  // Mean over the recorded steps per module (0 when no step was recorded). One host sync.
  std::map<std::string, float> scores() const;

  // The running sums at one moment (a CPU copy). An estimate of unknown length (estimate_steps:
  // auto) records every step and averages over a later window: the mean between two snapshots.
  struct Snapshot {
    torch::Tensor total;  // (M), or undefined before the first recorded step
    int64_t steps = 0;
  };
  Snapshot snapshot() const;
  std::map<std::string, float> scores_between(const Snapshot& from, const Snapshot& to) const;

  // The core, used by the probes: one forward of module `index` in training mode with the wrapped
  // linear's output and the PEFT branch's output (both (..., T, out)).
  void observe(size_t index, const torch::Tensor& base_output, const torch::Tensor& delta) override;
  // The same through kernels::lora_linear (LIGHTPEFT_KERNELS=fused): fills `sink` with module
  // `index`'s slots of this step's sums and the token mask; false when the step is not recorded.
  bool ratio_sink(size_t index, const torch::Tensor& like, kernels::ModuleRatioSink& sink) override;

 private:
  void ensure_buffers(const torch::Tensor& like);

  PeftModel& peft_;
  int64_t total_steps_;
  std::vector<std::string> paths_;
  bool attached_ = false;
  bool recording_ = false;  // the current step is in the recorded half
  int64_t recorded_steps_ = 0;
  torch::Tensor token_mask_;   // (B, T) bool, or undefined
  torch::Tensor token_count_;  // its number of tokens (a device scalar), once computed
  torch::Tensor step_sum_;     // (M) sum of per-token ratios this step
  torch::Tensor step_tokens_;  // (M) tokens seen this step
  torch::Tensor total_;        // (M) sum of step values over recorded steps
  std::function<void(std::vector<torch::Tensor>&)> step_reducer_;
};

}  // namespace lightpeft
