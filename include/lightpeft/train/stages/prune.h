#pragma once
// Light-PEFT's prune stage (spec 1.0 step 2): the quantile rule turns the estimate stage's scores
// into a PruningPlan (output_dir/prune/pruning_plan.json, kept for inspection and reused on
// resume); then the ORIGINAL pretrained model is loaded again, PEFT injected, the estimate-stage
// PEFT and classifier weights carried over, and the plan applied physically (heads, FFN neurons,
// PEFT modules, LoRA ranks). Mask values are discarded, not folded in, as the official code does.
#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "lightpeft/train/stages/estimate.h"

namespace lightpeft {

struct PruneResult {
  PeftModel model;  // pruned, ready to fine-tune
  PruningPlan plan;
  PruneReport report;
};

PruningOptions pruning_options(const TrainConfig& config);

PruneResult run_prune(Session& session, const EstimateResult& estimate);

}  // namespace lightpeft
