#pragma once
// Physical pruning by a PruningPlan (spec 1.0 step 2, 1.1, 1.2 c): on a PEFT model whose base
// weights are the pretrained ones and whose LoRA/adapter and classifier weights are the estimate
// stage's, apply_plan
//   - removes the PEFT wrapper of every pruned module and of every module losing all its ranks
//     (the slot holds the plain Dense again),
//   - keeps the planned ranks of the others (rows of A, columns of B; the scaling stays
//     alpha / r_original, as the official code),
//   - keeps the planned heads (rows of query/key/value with their LoRA B rows, columns of
//     attention.output.dense with its LoRA A columns; the output bias is kept whole) and FFN
//     neurons (rows of intermediate.dense with its LoRA B rows, columns of output.dense with its
//     LoRA A columns),
//   - updates the model config's per-layer head counts and FFN widths.
// Mask values are not folded into anything: masks are separate (FoundationMasks) and dropped.
//
// The official "reload the pretrained model, rebuild LoRA on the kept modules, load the estimate
// weights sliced" is, because base weights are frozen during estimation, the same as applying the
// plan to the estimate-stage model itself. When the trainer starts from a fresh pretrained model,
// it injects the same PEFT config and calls carry_over_peft_weights() first.
#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "lightpeft/models/encoder.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/pruning_plan.h"

namespace lightpeft {

struct ParameterCounts {
  int64_t total = 0;       // every parameter
  int64_t foundation = 0;  // everything except LoRA/adapter weights (embeddings, encoder, head)
  int64_t peft = 0;        // LoRA A/B and adapter down/up weights
  int64_t trainable = 0;   // requires_grad
};
ParameterCounts parameter_counts(const PeftModel& peft);

struct PruneReport {
  ParameterCounts before;
  ParameterCounts after;
};

// Prunes `peft` in place as `plan` says. The plan must describe this model: its layers' head and
// neuron counts equal the model's (a plan without layers prunes PEFT only), and its modules are
// exactly the model's PEFT modules with their ranks; otherwise lightpeft::Error names the mismatch
// (and nothing is changed). Merged LoRA modules, and modules whose slot holds something else (an
// attached ModuleImportance: detach it first), are refused. Logs the summary and the parameter
// counts. The trainer builds a fresh optimiser afterwards (parameters changed shape).
PruneReport apply_plan(PeftModel& peft, const PruningPlan& plan);

// The plan as 0/1 masks on the UNPRUNED model (1 for kept heads/neurons), in the shapes of
// FoundationMasks, on `options`' device and dtype: the unpruned model with these masks computes
// what the pruned model computes (the test of apply_plan).
std::vector<LayerMasks> plan_layer_masks(const PruningPlan& plan,
                                         const torch::TensorOptions& options = {});

// Copies the PEFT weights (lora_A/lora_B, adapter_down/adapter_up) and the modules-to-save
// parameters (the classifier) from `from` to `to`, by parameter name; both must have the same PEFT
// modules with the same shapes (e.g. `to` = inject(pretrained, the same config)). Throws
// lightpeft::Error naming the first missing or mismatched parameter.
void carry_over_peft_weights(const PeftModel& from, PeftModel& to);

}  // namespace lightpeft
