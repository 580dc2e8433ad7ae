#pragma once
// The finetune stage: trains a (possibly pruned) model with PEFT (or all of it, `method: full`),
// evaluates on dev, checkpoints, and saves the adapter (or the model) of the best and the final
// step under output_dir/finetune.
#include <optional>

#include "lightpeft/peft/inject.h"
#include "lightpeft/train/stages/session.h"

namespace lightpeft {

struct FinetuneResult {
  LoopResult loop;
  EvalResult final_eval;
  int64_t total_parameters = 0;
  int64_t trainable_parameters = 0;
  // What the process held with the model to fine-tune ready, before its first step (libraries,
  // data, tokenizer, model; resident_cpu_bytes): the part of the stage's peak that no pruning
  // shrinks much.
  int64_t start_cpu_rss_bytes = -1;
};

// `peft` null: full fine-tuning of `model`.
FinetuneResult run_finetune(Session& session, TaskModel model, PeftModel* peft);

}  // namespace lightpeft
