#pragma once
// Physical pruning by a PruningPlan (spec 1.0 step 2, 1.1, 1.2 c). A plan holds two decisions,
// applied by two functions:
//   - the foundation plan (plan.layers): apply_foundation_plan keeps the planned attention units
//     and MLP neurons of every layer, through each family's PrunableLayer (models/prunable.h): the
//     rows and columns each unit spans, with the LoRA B rows / A columns of wrapped linears; output
//     biases are kept whole; the model config's per-layer counts follow. It needs no PEFT: a bare
//     pretrained model pruned by a run's plan has the run's shapes.
//   - the PEFT plan (plan.modules): apply_peft_plan removes the PEFT layer of every pruned module
//     and of every module losing all its ranks (the slot holds the plain Dense again) and keeps
//     the planned ranks of the others (rows of A, columns of B; the LoRA scaling stays
//     alpha / r_original, as the official code).
// apply_plan does both, on a PEFT model whose base weights are the pretrained ones and whose
// PEFT and head weights are the estimate stage's.
// Mask values are not folded into anything: masks are separate (FoundationMasks) and dropped.
//
// The official "reload the pretrained model, rebuild LoRA on the kept modules, load the estimate
// weights sliced" is, because base weights are frozen during estimation, the same as applying the
// plan to the estimate-stage model itself. When the trainer starts from a fresh pretrained model,
// it injects the same PEFT config and calls carry_over_peft_weights() first.
#include <cstdint>
#include <vector>

#include <torch/types.h>

#include "lightpeft/models/model_io.h"
#include "lightpeft/models/task_model.h"
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
// The two halves. apply_foundation_plan checks that the plan's layers fit `model` (a plan without
// layers changes nothing); apply_peft_plan checks that its modules are exactly the PEFT layers.
void apply_foundation_plan(TaskModelImpl& model, const PruningPlan& plan);
void apply_peft_plan(PeftModel& peft, const PruningPlan& plan);

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
