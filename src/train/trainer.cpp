#include "lightpeft/train/trainer.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "lightpeft/core/allocator.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/data/text_file.h"
#include "lightpeft/distributed/process_group.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/train/stages/estimate.h"
#include "lightpeft/train/stages/finetune.h"
#include "lightpeft/train/stages/prune.h"
#include "lightpeft/train/inference.h"
#include "lightpeft/train/stages/session.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

const char* kConfigCopy = "config.yaml";

// An output_dir holds one run: the same config resumes it, another one is refused (results of
// two different configs must never mix), unless the user asks to start afresh.
void prepare_output_dir(const TrainConfig& config, const TrainOptions& options) {
  const fs::path& out = config.output_dir;
  const std::string yaml = train_config_to_yaml(config);
  if (fs::exists(out / kConfigCopy)) {
    if (options.overwrite) {
      log::warn("--overwrite: removing the earlier run in ", out.string());
      fs::remove_all(out);
    } else {
      LP_CHECK(read_text_file(out / kConfigCopy) == yaml, config.source.string(), ": output_dir ",
               out.string(), " holds a run with a different config (", (out / kConfigCopy).string(),
               "); use another output_dir, or --overwrite to start afresh");
      LP_CHECK(options.resume, "output_dir ", out.string(),
               " holds an earlier run; pass --resume to continue it or --overwrite to start afresh");
      log::info("resuming the run in ", out.string());
    }
  }
  std::error_code ec;
  fs::create_directories(out, ec);
  LP_CHECK(!ec, config.source.string(), ": key 'output_dir': cannot create ", out.string(), ": ",
           ec.message());
  // Also proves, before any training, that the directory is writable.
  try {
    write_text_atomic(out / kConfigCopy, yaml);
  } catch (const Error& e) {
    throw_error(config.source.string(), ": key 'output_dir': ", out.string(), " is not writable (", e.what(), ")");
  }
}

void write_results(const TrainConfig& c, const Runtime& rt, const TrainResult& r, const FinetuneResult& f,
                   const nlohmann::json& extra) {
  nlohmann::json j = {
      {"task", r.task},
      {"method", to_string(c.method)},
      {"model", c.model.string()},
      {"random_init", r.random_init},
      {"seed", c.seed},
      {"headline_metric", r.headline},
      {"headline_value", r.headline_value},
      {"dev", r.dev_metrics},
      {"dev_loss", f.final_eval.loss},
      {"best_dev_headline", f.loop.best_metric},
      {"best_step", f.loop.best_step},
      {"total_parameters", r.total_parameters},
      {"trainable_parameters", r.trainable_parameters},
      {"finetune_steps", f.loop.steps},
      {"finetune_seconds", f.loop.train_seconds},
      {"finetune_samples_per_second", f.loop.samples_per_second},
      {"eval_seconds", f.final_eval.seconds},
      {"eval_samples_per_second", f.final_eval.seconds > 0 ? f.final_eval.examples / f.final_eval.seconds : 0.0},
  };
  const PeakMemory peak = peak_memory(rt);  // the finetune stage's (the peaks restart per stage)
  if (peak.cuda_allocated_bytes >= 0) j["peak_cuda_allocated_bytes"] = peak.cuda_allocated_bytes;
  j["malloc"] = malloc_name();  // the peaks and times depend on it (core/allocator.h)
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  write_text_atomic(r.results_file, j.dump(2) + "\n");
}

}  // namespace

TrainResult run_training(const TrainConfig& config, const TrainOptions& options) {
  // Data parallel: rank 0 alone owns output_dir (files, train.log, results.json); see distributed/.
  dist::run_on_main_process("preparing output_dir", [&] { prepare_output_dir(config, options); });
  if (dist::is_main_process()) log::add_file_sink((config.output_dir / "train.log").string());
  log::info("lightpeft train: task ", config.task, ", method ", to_string(config.method), ", model ",
            config.model.string(), ", output ", config.output_dir.string());
  const auto started = std::chrono::steady_clock::now();
  Session session = make_session(config);

  FinetuneResult finetune;
  TrainResult r;
  nlohmann::json extra = nlohmann::json::object();
  // Each stage's own peak resident set (reset_peak_memory between them); the run's peak is the
  // largest. The session's data and tokenizer count in the first stage.
  std::map<std::string, int64_t> stage_peaks;
  switch (config.method) {
    case Method::full: {
      torch::manual_seed(static_cast<uint64_t>(config.seed));
      finetune = run_finetune(session, load_task_model(session), nullptr);
      break;
    }
    case Method::lora:
    case Method::adapter: {
      torch::manual_seed(static_cast<uint64_t>(config.seed));
      PeftModel peft = inject_peft(load_task_model(session), config, config.method == Method::adapter);
      finetune = run_finetune(session, peft.model, &peft);
      break;
    }
    case Method::light_peft: {
      EstimateResult estimate = run_estimate(session);
      extra["estimate_seconds"] = estimate.seconds;
      stage_peaks["estimate"] = estimate.peak_cpu_rss_bytes;
      reset_peak_memory(session.runtime);
      PruneResult pruned = run_prune(session, estimate);
      stage_peaks["prune"] = peak_memory(session.runtime).cpu_rss_bytes;
      reset_peak_memory(session.runtime);
      if (estimate.steps > 0) r.estimate_step_seconds = estimate.train_seconds / static_cast<double>(estimate.steps);
      r.estimate_peak_cpu_rss_bytes = estimate.peak_cpu_rss_bytes;
      extra["pruning"] = {
          {"heads", {pruned.plan.heads_before(), pruned.plan.heads_after()}},
          {"ffn_neurons", {pruned.plan.neurons_before(), pruned.plan.neurons_after()}},
          {"peft_modules", {static_cast<int64_t>(pruned.plan.modules.size()), pruned.plan.modules_with_peft()}},
          {"lora_ranks", {pruned.plan.ranks_before(), pruned.plan.ranks_after()}},
          {"parameters", {pruned.report.before.total, pruned.report.after.total}},
          {"peft_parameters", {pruned.report.before.peft, pruned.report.after.peft}},
          {"estimate_steps", estimate.steps},
          {"estimate_stop", estimate.stop_reason}};
      r.total_parameters_before_pruning = pruned.report.before.total;
      r.trainable_parameters_before_pruning = pruned.report.before.trainable;
      finetune = run_finetune(session, pruned.model.model, &pruned.model);
      break;
    }
  }

  r.finetune_resumed = finetune.loop.resumed;
  if (r.finetune_resumed) {
    extra["finetune_resumed"] = true;  // its peak and step time in this process are not the stage's
  } else {
    stage_peaks["finetune"] = peak_memory(session.runtime).cpu_rss_bytes;
    r.finetune_peak_cpu_rss_bytes = stage_peaks["finetune"];
    if (finetune.loop.steps > 0)
      r.finetune_step_seconds = finetune.loop.train_seconds / static_cast<double>(finetune.loop.steps);
  }
  int64_t run_peak = -1;
  for (const auto& [stage, bytes] : stage_peaks) run_peak = std::max(run_peak, bytes);
  extra["peak_cpu_rss_bytes"] = run_peak;
  extra["stage_peak_cpu_rss_bytes"] = stage_peaks;
  extra["finetune_start_cpu_rss_bytes"] = finetune.start_cpu_rss_bytes;

  if (!dist::is_main_process()) return r;  // rank 0 alone evaluated and reports
  r.task = session.task().name();
  r.headline = finetune.final_eval.metrics.headline;
  r.headline_value = finetune.final_eval.metrics.headline_value();
  r.dev_metrics = finetune.final_eval.metrics.values;
  r.total_parameters = finetune.total_parameters;
  r.trainable_parameters = finetune.trainable_parameters;
  r.random_init = session.random_init;
  r.results_file = config.output_dir / "results.json";
  // Extractive QA: the dev answers, as HF's run_qa keeps eval_predictions.json.
  const auto prediction_files = write_prediction_files(finetune.final_eval.predictions, config.output_dir, "dev_");
  if (!prediction_files.empty()) {
    extra["dev_prediction_files"] = nlohmann::json::array();
    for (const auto& f : prediction_files) extra["dev_prediction_files"].push_back(f.filename().string());
  }
  extra["total_seconds"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  write_results(config, session.runtime, r, finetune, extra);
  session.metrics->write("final", finetune.loop.steps, [&] {
    std::map<std::string, double> f;
    for (const auto& [k, v] : r.dev_metrics) f["eval_" + k] = v;
    return f;
  }());
  return r;
}

PruneOnlyResult run_estimate_and_prune(const TrainConfig& config, const TrainOptions& options) {
  LP_CHECK(config.method == Method::light_peft, config.source.string(), ": key 'method': prune runs the estimate and "
           "prune stages of method light-peft, not '", to_string(config.method), "'");
  dist::run_on_main_process("preparing output_dir", [&] { prepare_output_dir(config, options); });
  if (dist::is_main_process()) log::add_file_sink((config.output_dir / "train.log").string());
  log::info("lightpeft prune: task ", config.task, ", model ", config.model.string(), ", output ",
            config.output_dir.string());
  SessionOptions session_options;
  session_options.dev = false;  // the estimate stage does not evaluate
  Session session = make_session(config, session_options);
  EstimateResult estimate = run_estimate(session);
  PruneResult pruned = run_prune(session, estimate);
  PruneOnlyResult r;
  r.plan = std::move(pruned.plan);
  r.report = pruned.report;
  r.plan_file = session.stage_dir("prune") / kPruningPlanFile;
  r.estimate_seconds = estimate.seconds;
  r.estimate_reused = estimate.reused;
  r.random_init = session.random_init;
  return r;
}

}  // namespace lightpeft
