#pragma once
// Light-PEFT's fine PEFT importance (spec 1.2 b), a first-order Taylor score per rank: after
// backward and before the optimiser step (and before gradient clipping, as the official
// training_step),
//     s_i = | mean_j (A * dL/dA)_ij | + | mean_k (B * dL/dB)_ki |
// the absolute value of the SIGNED mean (not the mean of absolute values), with A = lora_A (r, in)
// and B = lora_B (out, r); for adapters A = adapter_down, B = adapter_up. Averaged over the second
// half of the estimate steps (estimate_window.h). Sums stay on the device; no host sync per step.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "lightpeft/kernels/importance.h"
#include "lightpeft/peft/inject.h"

namespace lightpeft {

// s for one pair of weights (A (r, in), B (out, r)) from their current .grad(); a missing gradient
// contributes 0. Returns (r), on the weights' device, float32. (Defined beside its fused kernel.)
using kernels::rank_taylor_scores;

class RankImportance {
 public:
  RankImportance(const PeftModel& peft, int64_t total_steps);

  // After backward of optimiser step `step` (0-based): adds s to the running sum when `step` is in
  // the recorded half; otherwise does nothing.
  void accumulate(int64_t step);

  const std::vector<std::string>& paths() const { return paths_; }
  int64_t recorded_steps() const { return recorded_steps_; }
  // Mean of s over the recorded steps per module, (r) float32 CPU tensors. One host sync.
  std::map<std::string, torch::Tensor> scores() const;

  // The running sums at one moment (CPU copies), and the mean between two of them (for an
  // estimate of unknown length; see ModuleImportance::Snapshot).
  struct Snapshot {
    std::vector<torch::Tensor> sums;  // per module; undefined before its first recorded step
    int64_t steps = 0;
  };
  Snapshot snapshot() const;
  std::map<std::string, torch::Tensor> scores_between(const Snapshot& from, const Snapshot& to) const;

 private:
  struct Entry {
    torch::Tensor A, B;  // the parameters themselves (their .grad() is read)
    torch::Tensor sum;
  };
  int64_t total_steps_;
  std::vector<std::string> paths_;
  std::vector<Entry> entries_;
  int64_t recorded_steps_ = 0;
};

}  // namespace lightpeft
