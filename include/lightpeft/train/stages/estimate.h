#pragma once
// Light-PEFT's estimate stage (spec 1.0 step 1): PEFT on all target linears, scalar masks on every
// head and FFN neuron, trained jointly with the classifier for `estimate_steps` steps on
// CE + lambda * sum |m|, while module and rank importances are recorded over the second half of the
// steps. Outputs, in output_dir/estimate: importance.safetensors (all scores) and
// peft_weights.safetensors (the PEFT and classifier weights the finetune stage carries over).
// A finished estimate stage is not run again; an interrupted one restarts from its beginning
// with the same seed (its importance statistics are not checkpointed), so it ends the same.
#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "lightpeft/train/stages/session.h"

namespace lightpeft {

struct EstimateResult {
  PruningScores scores;
  StateDict peft_weights;  // trainable tensors of the injected (unpruned) model, by name
  bool reused = false;     // loaded from an earlier run's files
  double seconds = 0.0;    // wall time of the stage (when reused: as recorded by the run that did it)
  int64_t steps = 0;       // optimizer steps taken
  // "fixed" (estimate_steps steps), or with estimate_steps: auto "stable" (the decisions stopped
  // changing) or "max_steps" (they had not by estimate_max_steps).
  std::string stop_reason = "fixed";
  double train_seconds = 0.0;       // the training loop's time alone (per step: the unpruned model's cost)
  int64_t peak_cpu_rss_bytes = -1;  // the stage's own peak resident set (-1: unknown)
};

// The PEFT model Light-PEFT estimates and prunes: LoRA (or bottleneck adapters) from the config on
// a freshly loaded pretrained model.
PeftModel make_light_peft_model(const Session& session);

EstimateResult run_estimate(Session& session);

}  // namespace lightpeft
