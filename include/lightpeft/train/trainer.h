#pragma once
// `lightpeft train`: the trainer sequences stages, each in its own file (train/stages/): plain
// fine-tuning for `method: lora | adapter | full`, and estimate -> prune -> finetune for
// `method: light-peft`. Every stage writes its outputs under output_dir; a run that is started
// again with the same config resumes where it stopped and ends with the same result.
#include <filesystem>
#include <map>
#include <string>

#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft {

struct TrainResult {
  std::string task;
  std::string headline;           // e.g. "accuracy"
  double headline_value = 0.0;    // final dev value
  std::map<std::string, double> dev_metrics;
  int64_t total_parameters = 0;      // of the model that was fine-tuned (after pruning)
  int64_t trainable_parameters = 0;
  // light-peft: the model's and the PEFT's parameter counts before the prune stage (0 otherwise).
  int64_t total_parameters_before_pruning = 0;
  int64_t trainable_parameters_before_pruning = 0;
  bool random_init = false;          // the model was written by init-model, not pretrained
  std::filesystem::path results_file;
  // What the pruning bought, measured in this run (light-peft; 0 / -1 otherwise): time per
  // optimizer step of the unpruned model in the estimate stage (LoRA on the estimate's targets plus
  // the masks) and of the pruned model in the finetune stage, and each stage's peak resident set.
  double estimate_step_seconds = 0.0;
  double finetune_step_seconds = 0.0;
  int64_t estimate_peak_cpu_rss_bytes = -1;
  int64_t finetune_peak_cpu_rss_bytes = -1;
  // The finetune stage continued from a checkpoint: this process saw only part of it (or none, when
  // the run had finished), so its step time and peak are not the stage's and are left at 0 / -1.
  bool finetune_resumed = false;
};

struct TrainOptions {
  bool resume = true;      // pick up checkpoints in output_dir (a different config there is an error)
  bool overwrite = false;  // start afresh, deleting an earlier run in output_dir
};

TrainResult run_training(const TrainConfig& config, const TrainOptions& options = {});

// `lightpeft prune`: only the estimate and prune stages of a light-peft config, so that a plan can
// be inspected before fine-tuning. Writes output_dir/estimate/ and prune/pruning_plan.json as
// `lightpeft train` does (same output_dir rules); a later `lightpeft train` with the same config
// reuses them and goes on with the finetune stage.
struct PruneOnlyResult {
  PruningPlan plan;
  PruneReport report;  // parameter counts before/after applying the plan
  std::filesystem::path plan_file;
  double estimate_seconds = 0.0;
  bool estimate_reused = false;
  bool random_init = false;
};
PruneOnlyResult run_estimate_and_prune(const TrainConfig& config, const TrainOptions& options = {});

}  // namespace lightpeft
