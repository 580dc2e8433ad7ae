#include "lightpeft/train/stages/prune.h"

#include "lightpeft/core/crash_point.h"
#include "lightpeft/core/log.h"
#include "lightpeft/distributed/process_group.h"
#include "lightpeft/models/hf_checkpoint.h"

namespace lightpeft {
namespace fs = std::filesystem;

PruningOptions pruning_options(const TrainConfig& c) {
  const LightPeftSection& lp = c.light_peft;
  PruningOptions o;
  o.head_ratio = lp.head_pruning_ratio;
  o.head_scope = lp.head_pruning_scope;
  o.neuron_ratio = lp.ffn_pruning_ratio;
  o.neuron_scope = lp.ffn_pruning_scope;
  o.module_ratio = lp.module_pruning_ratio;
  o.rank_ratio = lp.rank_pruning_ratio;
  o.importance = to_string(lp.importance);
  validate_pruning_options(o, c.source.string());
  return o;
}

PruneResult run_prune(Session& session, const EstimateResult& estimate) {
  const fs::path dir = session.stage_dir("prune");
  fs::create_directories(dir);
  const fs::path plan_file = dir / kPruningPlanFile;
  PruningPlan plan;
  // Rank 0 makes (or reuses) the plan and broadcasts it; every rank applies rank 0's plan.
  std::string plan_json;
  dist::run_on_main_process("making the pruning plan", [&] {
    if (fs::exists(plan_file)) {
      plan = load_pruning_plan(plan_file);
      log::info("prune: reusing ", plan_file.string());
    } else {
      plan = make_plan(estimate.scores, pruning_options(session.config));
      save_pruning_plan(plan, plan_file);
      crash_point("prune");
    }
    plan_json = pruning_plan_to_json(plan);
  });
  if (dist::is_distributed()) {
    dist::broadcast_string(plan_json);
    if (!dist::is_main_process()) plan = parse_pruning_plan(plan_json, "the pruning plan from rank 0");
    // The importance statistics were all-reduced, so each rank's own plan must equal rank 0's; one
    // that does not means the ranks diverged (it still applies rank 0's plan).
    const bool own_differs =
        pruning_plan_to_json(make_plan(estimate.scores, pruning_options(session.config))) != plan_json;
    const double differing = dist::all_reduce_sum(own_differs ? 1.0 : 0.0);
    if (differing == 0)
      log::info("prune: the plans made on all ", dist::world_size(), " ranks are identical to rank 0's");
    else
      log::warn("prune: ", differing, " of ", dist::world_size(),
                " ranks made a plan that differs from rank 0's (their importance statistics diverged); "
                "every rank applies rank 0's plan");
  }
  log::info("prune: ", plan.summary());

  // The official flow: the original pretrained weights, PEFT injected, the estimate stage's PEFT
  // and classifier weights carried over; then the physical prune.
  PeftModel peft = make_light_peft_model(session);
  restore_state(*peft.model, estimate.peft_weights, "estimate stage weights");
  PruneReport report = apply_plan(peft, plan);
  log::info("prune: parameters ", report.before.total, " -> ", report.after.total, " (foundation ",
            report.before.foundation, " -> ", report.after.foundation, ", PEFT ", report.before.peft,
            " -> ", report.after.peft, ")");
  dist::run_on_main_process("writing pruned_config.json",
                            [&] { save_model_config(peft.model->config(), dir / "pruned_config.json"); });
  crash_point("prune");
  return PruneResult{std::move(peft), std::move(plan), report};
}

}  // namespace lightpeft
