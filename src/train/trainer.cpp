#include "lightpeft/train/trainer.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include <fstream>
#include <sstream>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/models/model_config.h"
#include "lightpeft/train/stages/estimate.h"
#include "lightpeft/train/stages/finetune.h"
#include "lightpeft/train/stages/prune.h"
#include "lightpeft/train/stages/session.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

const char* kConfigCopy = "config.yaml";

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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
      LP_CHECK(read_text(out / kConfigCopy) == yaml, config.source.string(), ": output_dir ",
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
  write_text_atomic(out / kConfigCopy, yaml);  // also proves the directory is writable
}

bool is_random_init(const fs::path& model_dir) {
  return load_model_config(model_dir).extra_json.find("\"lightpeft_random_init\":true") !=
         std::string::npos;
}

void write_results(const TrainConfig& c, const TrainResult& r, const FinetuneResult& f,
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
  };
  for (auto it = extra.begin(); it != extra.end(); ++it) j[it.key()] = it.value();
  write_text_atomic(r.results_file, j.dump(2) + "\n");
}

}  // namespace

TrainResult run_training(const TrainConfig& config, const TrainOptions& options) {
  prepare_output_dir(config, options);
  log::add_file_sink((config.output_dir / "train.log").string());
  log::info("lightpeft train: task ", config.task, ", method ", to_string(config.method), ", model ",
            config.model.string(), ", output ", config.output_dir.string());
  if (config.threads > 0) at::set_num_threads(static_cast<int>(config.threads));
  torch::manual_seed(static_cast<uint64_t>(config.seed));

  Session session;
  session.config = config;
  session.runtime = make_runtime(config);
  session.random_init = is_random_init(config.model);
  if (session.random_init)
    log::warn("model ", config.model.string(), " is RANDOM-INIT (lightpeft init-model): results are not those of a pretrained model");
  session.tokenizer = load_tokenizer(config.model);
  session.data = load_task_data(config, *session.tokenizer);
  session.train = std::make_unique<Batcher>(make_train_batcher(config, session.data, session.tokenizer->pad_id()));
  session.dev = std::make_unique<Batcher>(make_eval_batcher(config, session.data, session.tokenizer->pad_id()));
  session.metrics = std::make_unique<MetricsLog>(config.output_dir / "metrics.jsonl");
  log::info("device ", session.runtime.device.str(), session.runtime.autocast_bf16 ? " (bf16 autocast)" : "",
            ", threads ", at::get_num_threads());

  FinetuneResult finetune;
  nlohmann::json extra = nlohmann::json::object();
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
      PruneResult pruned = run_prune(session, estimate);
      extra["pruning"] = {
          {"heads", {pruned.plan.heads_before(), pruned.plan.heads_after()}},
          {"ffn_neurons", {pruned.plan.neurons_before(), pruned.plan.neurons_after()}},
          {"peft_modules", {static_cast<int64_t>(pruned.plan.modules.size()), pruned.plan.modules_with_peft()}},
          {"lora_ranks", {pruned.plan.ranks_before(), pruned.plan.ranks_after()}},
          {"parameters", {pruned.report.before.total, pruned.report.after.total}},
          {"peft_parameters", {pruned.report.before.peft, pruned.report.after.peft}},
          {"estimate_steps", config.light_peft.estimate_steps}};
      finetune = run_finetune(session, pruned.model.model, &pruned.model);
      break;
    }
  }

  TrainResult r;
  r.task = session.data.spec.name;
  r.headline = finetune.final_eval.metrics.headline;
  r.headline_value = finetune.final_eval.metrics.headline_value();
  r.dev_metrics = finetune.final_eval.metrics.values;
  r.total_parameters = finetune.total_parameters;
  r.trainable_parameters = finetune.trainable_parameters;
  r.random_init = session.random_init;
  r.results_file = config.output_dir / "results.json";
  write_results(config, r, finetune, extra);
  session.metrics->write("final", finetune.loop.steps, [&] {
    std::map<std::string, double> f;
    for (const auto& [k, v] : r.dev_metrics) f["eval_" + k] = v;
    return f;
  }());
  return r;
}

}  // namespace lightpeft
