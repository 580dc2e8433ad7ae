#include "lightpeft/train/train_loop.h"

#include <chrono>
#include <cmath>

#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/core/allocator.h"
#include "lightpeft/core/crash_point.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/distributed/grad_sync.h"
#include "lightpeft/train/loss_scaler.h"

namespace lightpeft {
namespace fs = std::filesystem;

EvalResult evaluate(TaskModelImpl& model, const Batcher& batcher, const Task& task,
                    const EncodedSplit& split, const Runtime& rt,
                    const std::vector<LayerMasks>& masks, const Tokenizer* tokenizer) {
  const auto started = std::chrono::steady_clock::now();
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  if (task.evaluates_itself()) {
    LP_CHECK(tokenizer != nullptr, "evaluate: task '", task.name(), "' evaluates itself and needs the tokenizer");
    TaskEvalContext context;
    context.model = &model;
    context.tokenizer = tokenizer;
    context.batcher = &batcher;
    context.batch_size = batcher.options().batch_size;
    context.masks = masks;
    TaskEvaluation t;
    {
      AutocastScope autocast(rt);
      t = task.evaluate_split(split, context);
    }
    if (was_training) model.train();
    EvalResult out;
    out.metrics = std::move(t.metrics);
    out.loss = t.loss;
    out.examples = t.examples;
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return out;
  }
  const std::unique_ptr<SplitPredictions> predictions = task.start_predictions(split);
  double loss_sum = 0.0;
  int64_t n = 0;
  auto stream = batcher.stream(/*epoch=*/0);
  while (auto batch = stream.next()) {
    AutocastScope autocast(rt);
    const auto items = static_cast<int64_t>(batch->indices.size());
    const ModelOutput out = model.forward(to_inputs(*batch, rt), masks);
    loss_sum += task.loss(out, *batch).item<double>() * items;
    n += items;
    predictions->add(out, *batch);
  }
  if (was_training) model.train();
  EvalResult out;
  out.metrics = predictions->metrics();
  if (task.keeps_eval_predictions()) out.predictions = predictions->files({});
  out.loss = n ? loss_sum / n : 0.0;
  out.examples = n;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return out;
}

int64_t steps_per_epoch(const Batcher& train, int64_t accumulation) {
  return (train.num_batches() + accumulation - 1) / accumulation;
}

int64_t total_training_steps(const OptimConfig& optim, const Batcher& train) {
  if (optim.max_steps > 0) return optim.max_steps;
  return static_cast<int64_t>(
      std::ceil(optim.num_train_epochs * static_cast<double>(steps_per_epoch(train, optim.gradient_accumulation_steps))));
}

namespace {

// Freed pages jemalloc may keep between steps (limit_free_memory): above a step's activations on
// MiniLM at batch 32 (about 0.5 GiB), below the resident sets that grew without a bound.
constexpr size_t kMaxUnusedMallocBytes = size_t{1} << 30;

std::map<std::string, double> eval_fields(const EvalResult& r) {
  std::map<std::string, double> f;
  for (const auto& [k, v] : r.metrics.values) f["eval_" + k] = v;
  f["eval_loss"] = r.loss;
  return f;
}

std::string describe(const EvalResult& r) {
  std::string s = r.metrics.headline + " " + log::fixed(r.metrics.headline_value(), 4);
  for (const auto& [k, v] : r.metrics.values)
    if (k != r.metrics.headline) s += ", " + k + " " + log::fixed(v, 4);
  return s + ", loss " + log::fixed(r.loss, 4) + " (" + std::to_string(r.examples) + " examples)";
}

}  // namespace

LoopResult run_train_loop(TaskModelImpl& model, Optimizer& optimizer, const LoopContext& ctx,
                          const LoopSpec& spec, const LoopHooks& hooks) {
  const OptimConfig& o = ctx.optim;
  const int64_t accumulation = o.gradient_accumulation_steps;
  const int64_t total = spec.total_steps;
  const int64_t warmup = warmup_steps_for(o, total);
  LP_CHECK(total > 0, spec.stage, ": nothing to train (0 steps)");
  fs::create_directories(spec.dir);

  TrainerState state;
  state.stage = spec.stage;
  LoopResult result;
  if (auto ckpt = spec.checkpoints ? load_latest_checkpoint(spec.dir, &optimizer) : std::nullopt) {
    state = ckpt->state;
    if (hooks.restore) hooks.restore(ckpt->tensors);
    if (hooks.restore_extra) hooks.restore_extra(state.extra_json);
    result.resumed = true;
    log::info(spec.stage, ": resuming from ", ckpt->dir.string(), " (step ", state.global_step, "/",
              total, ")");
    convert_position_for_batch_size(state, ctx.train.options().batch_size, spec.stage);
  }
  state.global_batch_size = ctx.train.options().batch_size;
  // Data parallel (distributed/): every rank starts from rank 0's trainable parameters, gradients
  // are averaged over ranks before each step; rank 0 alone logs, evaluates and checkpoints.
  std::optional<dist::GradientSync> grad_sync;
  if (auto* group = dist::default_group()) {
    grad_sync.emplace(*group, optimizer.parameters());
    grad_sync->broadcast_parameters(0);
  }
  const bool main_process = dist::is_main_process();
  auto checkpoint = [&]() {
    if (!spec.checkpoints) return;
    if (hooks.extra_state) state.extra_json = hooks.extra_state();
    dist::run_on_main_process(spec.stage + "'s checkpoint", [&] {
      save_checkpoint(spec.dir, state, hooks.state ? hooks.state() : StateDict{}, optimizer,
                      o.save_total_limit);
    });
  };
  auto run_eval = [&]() {
    if (!spec.evaluate || ctx.dev == nullptr) return;
    dist::run_on_main_process(spec.stage + "'s evaluation", [&] {
      EvalResult r = evaluate(model, *ctx.dev, ctx.task, *ctx.dev_split, ctx.rt,
                              hooks.masks ? hooks.masks() : std::vector<LayerMasks>{}, ctx.tokenizer);
      log::info(spec.stage, " step ", state.global_step, " dev: ", describe(r));
      if (ctx.metrics) ctx.metrics->write(spec.stage, state.global_step, eval_fields(r));
      const double headline = r.metrics.headline_value();
      if (headline > state.best_metric) {
        state.best_metric = headline;
        state.best_step = state.global_step;
        if (hooks.save_best) hooks.save_best(spec.dir / "best");
      }
      result.last_eval = r;
    });
  };

  model.train();
  const int64_t eval_every = o.eval_steps > 0 ? o.eval_steps : steps_per_epoch(ctx.train, accumulation);
  const int64_t save_every = spec.save_every > 0 ? spec.save_every
                             : o.save_steps > 0  ? o.save_steps
                                                 : eval_every;
  Progress progress(spec.stage, total, state.global_step, o.logging_steps);
  const auto started = std::chrono::steady_clock::now();

  std::optional<DynamicLossScaler> scaler;
  if (ctx.rt.loss_scaling()) scaler.emplace();

  double loss_window = 0.0;
  int64_t loss_count = 0;
  bool stopped = false;  // hooks.stop_after ended the stage early
  while (state.global_step < total && !stopped) {
    auto stream = ctx.train.stream(state.epoch, state.batch_in_epoch);
    int64_t micro = 0, step_examples = 0;
    double step_loss = 0.0;
    optimizer.zero_grad();
    while (state.global_step < total) {
      auto batch = stream.next();
      if (!batch) break;
      const int64_t items = static_cast<int64_t>(batch->indices.size());
      // This rank's share of the global micro-batch: the task loss is a mean over the batch, so
      // with ranks averaging gradients each rank weighs its mean by items * world / global items.
      const double share = static_cast<double>(items) / static_cast<double>(batch->global_items);
      const double weight = share * dist::world_size();
      at::Tensor loss;
      if (batch->empty()) {  // a short last batch left this rank nothing: it still joins the sync
        if (hooks.before_forward) hooks.before_forward(state.global_step, micro, ModelInputs{});
      } else {
        AutocastScope autocast(ctx.rt);
        ModelInputs inputs = to_inputs(*batch, ctx.rt);
        ctx.task.prepare_inputs(inputs, *batch);
        if (hooks.before_forward) hooks.before_forward(state.global_step, micro, inputs);
        auto out = model.forward(inputs, hooks.masks ? hooks.masks() : std::vector<LayerMasks>{});
        loss = ctx.task.loss(out, *batch);
        if (hooks.extra_loss) loss = loss + hooks.extra_loss();
      }
      if (loss.defined()) {
        at::Tensor to_backward = (weight == 1.0 ? loss : loss * weight) / static_cast<double>(accumulation);
        if (scaler) to_backward = scaler->scale(to_backward);
        to_backward.backward();
        step_loss += loss.item<double>() * share;  // one sync per micro-batch: the progress line needs it
      }
      step_examples += items;
      ++micro;
      state.batch_in_epoch = stream.position();
      const bool epoch_done = state.batch_in_epoch >= ctx.train.num_batches();
      if (micro < accumulation && !epoch_done) continue;
      if (grad_sync) {  // mean gradients; the step's loss and examples summed over ranks
        std::vector<double> sums{step_loss, static_cast<double>(step_examples)};
        grad_sync->average_gradients(&sums);
        step_loss = sums[0];
        step_examples = static_cast<int64_t>(sums[1]);
      }

      // fp16: gradients back to their true size; a step with an inf/NaN gradient is skipped (the
      // schedule still advances, as with torch's GradScaler).
      // A non-finite loss stops the run before the step can spoil the weights (the last checkpoint
      // stays the newest), or skips the step if the config says so (training.nonfinite_loss).
      const bool loss_finite = std::isfinite(step_loss);
      if (!loss_finite) {
        LP_CHECK(o.nonfinite_loss == NonfiniteLoss::skip, spec.stage, ": the loss became ", step_loss / micro, " at step ",
                 state.global_step + 1, "; stopping (the last good checkpoint is kept in ", spec.dir.string(),
                 "; training.nonfinite_loss: skip would skip such steps)");
        log::warn(spec.stage, ": step ", state.global_step + 1, " skipped: the loss is ", step_loss / micro,
                  " (training.nonfinite_loss: skip)");
      }
      const bool finite = (scaler ? scaler->unscale(optimizer.parameters()) : true) && loss_finite;
      optimizer.set_lr_multiplier(lr_multiplier(o.lr_scheduler_type, state.global_step, total, warmup));
      const double lr = optimizer.lr();
      if (finite) {
        if (hooks.after_backward) hooks.after_backward(state.global_step);
        optimizer.clip_grad_norm(o.max_grad_norm);
        optimizer.step();
      } else if (loss_finite) {
        log::warn(spec.stage, ": step ", state.global_step + 1, " skipped: fp16 gradients overflowed at loss scale ",
                  scaler->value());
      }
      if (scaler && loss_finite) scaler->update(finite);
      optimizer.zero_grad();
      limit_free_memory(kMaxUnusedMallocBytes);
      ++state.global_step;
      const double mean_loss = step_loss / micro;
      if (loss_finite) {
        loss_window += mean_loss;
        ++loss_count;
      }
      if (main_process) progress.step(state.global_step, mean_loss, lr, step_examples);
      if (state.global_step % o.logging_steps == 0 && ctx.metrics && main_process) {
        ctx.metrics->write(spec.stage, state.global_step,
                           {{"loss", loss_count > 0 ? loss_window / loss_count : mean_loss}, {"learning_rate", lr},
                            {"epoch", state.epoch + static_cast<double>(state.batch_in_epoch) /
                                                        ctx.train.num_batches()},
                            {"samples_per_second", progress.samples_per_second()}});
        loss_window = 0.0;
        loss_count = 0;
      }
      micro = 0;
      step_loss = 0.0;
      step_examples = 0;
      if (epoch_done) {
        ++state.epoch;
        state.batch_in_epoch = 0;
      }
      stopped = hooks.stop_after && hooks.stop_after(state.global_step);
      const bool last = state.global_step == total || stopped;
      if (spec.evaluate && ctx.dev && (state.global_step % eval_every == 0 || last)) {
        if (main_process) progress.note(spec.stage + ": evaluating at step " + std::to_string(state.global_step));
        run_eval();
      }
      if (state.global_step % save_every == 0 || last) checkpoint();
      crash_point(spec.stage + ".step");
      if (epoch_done || stopped) break;
    }
  }
  if (main_process) progress.finish();
  if (grad_sync) {
    const double diff = grad_sync->max_replica_difference(0);
    if (diff == 0.0)
      log::info(spec.stage, ": the trainable parameters of all ", dist::world_size(), " ranks are identical");
    else
      log::warn(spec.stage, ": the ranks' trainable parameters differ by up to ", diff,
                " (max |difference| from rank 0's)");
  }
  result.steps = state.global_step;
  result.best_metric = state.best_metric;
  result.best_step = state.best_step;
  result.train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.samples_per_second = progress.samples_per_second();
  return result;
}

}  // namespace lightpeft
