#include "lightpeft/train/stages/finetune.h"

#include "lightpeft/core/log.h"
#include "lightpeft/distributed/process_group.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/adapter_io.h"
#include "lightpeft/train/runtime.h"

namespace lightpeft {

FinetuneResult run_finetune(Session& session, TaskModel model, PeftModel* peft) {
  FinetuneResult result;
  result.start_cpu_rss_bytes = resident_cpu_bytes();
  const TrainConfig& c = session.config;
  const auto dir = session.stage_dir("finetune");
  if (!peft) {
    for (auto& p : model->parameters()) p.set_requires_grad(true);
  }
  log::info("finetune: ", trainable_parameter_report(*model));

  Optimizer optimizer(default_param_groups(*model, c.training), c.training);
  auto save_outputs = [&](const std::filesystem::path& out) {
    if (peft)
      save_adapter(*peft, out);
    else
      save_pretrained(*model, out);
  };
  LoopHooks hooks;
  hooks.state = [&] { return trainable_state(*model); };
  hooks.restore = [&](const StateDict& s) { restore_state(*model, s, dir.string()); };
  hooks.save_best = save_outputs;

  LoopSpec spec;
  spec.stage = "finetune";
  spec.dir = dir;
  spec.total_steps = total_training_steps(c.training, *session.train);

  result.loop = run_train_loop(*model, optimizer, session.loop_context(), spec, hooks);
  dist::run_on_main_process("the final outputs and evaluation", [&] {  // rank 0 alone
    save_outputs(dir / "final");
    // The loop evaluates the final weights at its last step (not when a finished run is resumed):
    // no second pass (generative tasks' evaluations take minutes).
    if (result.loop.last_eval && result.loop.steps == spec.total_steps)
      result.final_eval = *result.loop.last_eval;
    else
      result.final_eval =
          evaluate(*model, *session.dev, session.task(), session.data.dev, session.runtime, {}, session.tokenizer.get());
  });
  result.total_parameters = count_parameters(*model);
  result.trainable_parameters = 0;
  for (const auto& p : model->parameters())
    if (p.requires_grad()) result.trainable_parameters += p.numel();
  return result;
}

}  // namespace lightpeft
