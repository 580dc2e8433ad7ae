#pragma once
// Using a finished `lightpeft train` run: `lightpeft eval` (the run's model on the dev split, as
// the trainer evaluated it at the end) and `lightpeft predict` (labels for unlabelled test rows in
// GLUE's submission format). The run is the one in the config's output_dir.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "lightpeft/data/batcher.h"
#include "lightpeft/data/example.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/tasks/task.h"
#include "lightpeft/train/runtime.h"
#include "lightpeft/train/train_config.h"

namespace lightpeft {

// Writes each prediction file as dir/<prefix><name> (the trainer's dev_predictions.json, `eval`'s
// eval_predictions.json) and returns the paths written.
std::vector<std::filesystem::path> write_prediction_files(const PredictionFiles& files, const std::filesystem::path& dir,
                                                          const std::string& prefix);

// The fine-tuned model of the run in config.output_dir, in eval mode on the CPU. `which` is
// "final" or "best" (output_dir/finetune/<which>): for method full the saved model, otherwise the
// base model (pruned by the run's plan for light-peft) with the run's adapter (load_finetuned_run).
// merge_lora: LoRA folded into the base weights (merge_for_inference; adapters stay as they are),
// for inference that need not reproduce the trainer's numbers bit for bit (`predict`; the same
// outputs up to float rounding).
TaskModel load_run_model(const TrainConfig& config, const std::string& which = "final", bool merge_lora = false);

struct RunEvaluation {
  std::string task;
  std::string which;              // final | best
  std::string headline;           // e.g. "accuracy"
  double headline_value = 0.0;
  std::map<std::string, double> metrics;
  double loss = 0.0;
  int64_t examples = 0;
  bool random_init = false;
  std::filesystem::path results_file;  // output_dir/eval_results.json
  std::vector<std::filesystem::path> prediction_files;  // extractive QA: output_dir/eval_predictions.json, ...
};

// Evaluates the run's model on the dev split of the config's task (with the config's eval batch
// size, max_eval_samples and device) and writes output_dir/eval_results.json (extractive QA also
// eval_predictions.json, and for SQuAD v2 eval_null_odds.json). `which` "base" evaluates the
// config's pretrained model without any run (zero-shot): tasks with a causal LM head only (its
// weights are pretrained), others throw.
RunEvaluation evaluate_run(const TrainConfig& config, const std::string& which = "final");

// Per-item predictions of `model` over every batch of `batcher` in item order, as the task makes
// them (class ids as double, regression values, choices).
std::vector<double> predict_items(TaskModelImpl& model, const Batcher& batcher, const Task& task,
                                  const Runtime& rt);

struct PredictionSummary {
  std::filesystem::path file;
  std::vector<std::filesystem::path> other_files;  // SQuAD v2: <out stem>_null_odds.json
  int64_t rows = 0;
  std::map<std::string, int64_t> counts;  // classification: rows per predicted label
  std::map<std::string, double> metrics;  // generative tasks: their metrics on the rows (and "loss")
};

// Predicts the unlabelled `split` of the config's task ("test"; for MNLI also "test_mismatched";
// task user: user_task.test_file; SQuAD: "test" (squad.test_file) or "dev") and writes `out` as the
// benchmark's submission file: GLUE's TSV (a header "index\tprediction", then one line per row: its
// index and the prediction), or SQuAD's JSON {"question id": "answer text"} ("" = no answer), with
// SQuAD v2's null odds (each question's null score minus its best span's) beside it as
// <out stem>_null_odds.json. Tasks that evaluate themselves (instruction: test_file or, with split
// dev, dev_file; the commonsense sets on a decoder: their test.json) write JSON Lines instead, one
// object per row (tasks/causal_lm_task.h, tasks/commonsense_task.h), and report their metrics.
PredictionSummary predict_run(const TrainConfig& config, const std::filesystem::path& out,
                              const std::string& which = "final", const std::string& split = "test");

}  // namespace lightpeft
