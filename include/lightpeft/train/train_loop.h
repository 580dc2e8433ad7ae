#pragma once
// The optimisation loop every training stage runs (estimate and finetune; also plain LoRA, adapter
// and full fine-tuning): batches in a seeded order, forward (with optional Light-PEFT masks), task
// loss plus an optional extra term, backward with gradient accumulation, a hook between backward
// and the optimizer step (importance recording), clipping, AdamW, the learning-rate schedule,
// progress, periodic evaluation, atomic checkpoints and resumption from the newest good one.
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/data/batcher.h"
#include "lightpeft/data/metrics.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/tasks/task.h"
#include "lightpeft/train/checkpoint.h"
#include "lightpeft/train/optimizer.h"
#include "lightpeft/train/progress.h"
#include "lightpeft/train/runtime.h"

namespace lightpeft {

struct EvalResult {
  MetricResult metrics;
  double loss = 0.0;
  int64_t examples = 0;
  double seconds = 0.0;  // wall time of the pass (inference speed = examples / seconds)
};

// Evaluation in eval mode, no gradients: the task's loss, predictions and metrics over `split`
// (batched by `batcher`, made from the same split).
EvalResult evaluate(TaskModelImpl& model, const Batcher& batcher, const Task& task,
                    const EncodedSplit& split, const Runtime& rt,
                    const std::vector<LayerMasks>& masks = {});

struct LoopHooks {
  std::function<std::vector<LayerMasks>()> masks;        // Light-PEFT's masks in forward
  // Before each forward: the optimizer step it belongs to, which micro-batch of the step, inputs.
  std::function<void(int64_t step, int64_t micro, const ModelInputs& inputs)> before_forward;
  std::function<at::Tensor()> extra_loss;                // e.g. lambda * sum |m|
  std::function<void(int64_t step)> after_backward;      // full gradients, before the step
  // After optimizer step `steps_done` (1-based) is taken: true ends the stage there, as if it were
  // the last step (an estimate that decides its own length).
  std::function<bool(int64_t steps_done)> stop_after;
  std::function<StateDict()> state;                      // what a checkpoint saves
  std::function<void(const StateDict&)> restore;         // and restores
  std::function<std::string()> extra_state;              // JSON kept in trainer_state.json
  std::function<void(const std::string&)> restore_extra;
  std::function<void(const std::filesystem::path& dir)> save_best;  // e.g. adapter files
};

struct LoopSpec {
  std::string stage;                     // "estimate" | "finetune"
  std::filesystem::path dir;             // output_dir/<stage>
  int64_t total_steps = 0;               // optimizer steps
  bool evaluate = true;                  // evaluate on dev (every eval_steps, and at the end)
  int64_t save_every = 0;                // 0: the config's save_steps (or each evaluation)
  bool checkpoints = true;               // false: neither resume from nor write checkpoints
};

struct LoopResult {
  int64_t steps = 0;
  std::optional<EvalResult> last_eval;
  double best_metric = 0.0;
  int64_t best_step = -1;
  double train_seconds = 0.0;
  double samples_per_second = 0.0;
  bool resumed = false;
};

struct LoopContext {
  const OptimConfig& optim;
  const Task& task;
  const Runtime& rt;
  const Batcher& train;
  const Batcher* dev = nullptr;            // null: no evaluation
  const EncodedSplit* dev_split = nullptr;  // what `dev` batches
  MetricsLog* metrics = nullptr;
};

// Optimizer steps an epoch gives: ceil(batches / accumulation).
int64_t steps_per_epoch(const Batcher& train, int64_t accumulation);
// max_steps if set, else ceil(epochs * steps_per_epoch).
int64_t total_training_steps(const OptimConfig& optim, const Batcher& train);

LoopResult run_train_loop(TaskModelImpl& model, Optimizer& optimizer, const LoopContext& ctx,
                          const LoopSpec& spec, const LoopHooks& hooks);

}  // namespace lightpeft
