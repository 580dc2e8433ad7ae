#pragma once
// How heads and FFN neurons are ranked after the estimate stage.
//   mask   (the official rule, spec 1.1): the signed mask values at the end of estimation.
//   taylor (Michel et al. 2019): the accumulated |dL/dm| over the estimate steps, each layer's
//          vector divided by its L2 norm (HF bertology's normalize_by_layer).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>

#include "lightpeft/pruning/foundation_masks.h"

namespace lightpeft {

// Per-layer scores, 1-D float32 CPU tensors: heads[l] has H_l entries, neurons[l] d_ff_l.
struct FoundationScores {
  std::vector<torch::Tensor> heads;
  std::vector<torch::Tensor> neurons;
};

// The official rule: a CPU copy of the current mask values (signed, not their absolute value).
FoundationScores mask_value_scores(const FoundationMasks& masks);

// Michel et al.'s head (and, likewise, neuron) importance from the mask gradients. Call
// accumulate() after backward (every micro-batch, or once per step: only the sum matters), before
// the optimiser zeroes the gradients. The running sums stay on the masks' device (no host sync).
class TaylorImportance {
 public:
  explicit TaylorImportance(const FoundationMasks& masks);

  // Adds |dL/dm| for every mask. `l1_lambda`: the weight of the L1 term in the loss that produced
  // the gradients; its part lambda * sign(m) is subtracted first, so the score is the task loss's
  // gradient only (as Michel et al., whose loss has no L1 term).
  void accumulate(double l1_lambda = 0.0);
  int64_t num_accumulated() const { return count_; }
  // Accumulated |grad| per layer, each layer divided by (its L2 norm + 1e-20) (HF bertology).
  FoundationScores scores() const;

 private:
  FoundationMasks masks_;
  std::vector<torch::Tensor> head_sum_, neuron_sum_;
  int64_t count_ = 0;
};

// "mask" | "taylor": the importance option of the config; throws for anything else.
void check_foundation_importance(const std::string& name);

}  // namespace lightpeft
