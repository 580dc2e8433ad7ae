#include "lightpeft/train/inference.h"

#include <iomanip>
#include <sstream>

#include <ATen/core/grad_mode.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/train/export.h"
#include "lightpeft/train/stages/session.h"
#include "lightpeft/train/task_data.h"

namespace lightpeft {
namespace fs = std::filesystem;

std::vector<fs::path> write_prediction_files(const PredictionFiles& files, const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> out;
  for (const auto& [name, text] : files.files) {
    out.push_back(dir / (prefix + name));
    write_text_atomic(out.back(), text);
  }
  return out;
}

TaskModel load_run_model(const TrainConfig& config, const std::string& which, bool merge_lora) {
  LP_CHECK(which == "final" || which == "best", "checkpoint '", which, "': expected final or best");
  const fs::path run = config.output_dir, dir = run / "finetune" / which;
  LP_CHECK(fs::is_directory(dir), config.source.string(), ": key 'output_dir': ", run.string(),
           " holds no finished run (no finetune/", which, "); run `lightpeft train --config ",
           config.source.string(), "` first");
  TaskModel model;
  if (config.method == Method::full) {
    PretrainedOptions options;
    options.head = make_config_task(config)->head();
    options.strict = true;
    model = load_pretrained(dir, options).model;
  } else {
    PeftModel peft = load_finetuned_run(run, which);
    model = merge_lora ? merge_for_inference(peft) : peft.model;
  }
  model->eval();
  return model;
}

std::vector<double> predict_items(TaskModelImpl& model, const Batcher& batcher, const Task& task,
                                  const Runtime& rt) {
  const bool was_training = model.is_training();
  model.eval();
  at::NoGradGuard no_grad;
  std::vector<double> out(static_cast<size_t>(batcher.num_items()), 0.0);
  auto stream = batcher.stream(/*epoch=*/0);
  while (auto batch = stream.next()) {
    AutocastScope autocast(rt);
    const auto p = task.predict(model.forward(to_inputs(*batch, rt)), *batch);
    for (size_t i = 0; i < p.size(); ++i) out[static_cast<size_t>(batch->indices[i])] = p[i];
  }
  if (was_training) model.train();
  return out;
}

RunEvaluation evaluate_run(const TrainConfig& config, const std::string& which) {
  SessionOptions options;
  options.train = false;
  options.metrics_log = false;
  LP_CHECK(which == "final" || which == "best" || which == "base", "checkpoint '", which,
           "': expected final, best or base");
  Session session = make_session(config, options);
  TaskModel model;
  if (which == "base") {
    // The pretrained model as it is (zero-shot): only a head the checkpoint holds can be evaluated
    // so; any other would be freshly initialised and its score meaningless.
    LP_CHECK(session.task().head() == HeadKind::causal_lm, config.source.string(), ": task ", session.task().name(),
             ": --checkpoint base evaluates the pretrained model without training, which only a causal LM head "
             "can be (a ", to_string(session.task().head()), " head would be random); train a run first");
    model = load_task_model(session);
    model->eval();
    fs::create_directories(config.output_dir);
  } else {
    model = load_run_model(config, which);
    model->to(session.runtime.device);
  }
  const EvalResult r =
      evaluate(*model, *session.dev, session.task(), session.data.dev, session.runtime, {}, session.tokenizer.get());

  RunEvaluation e;
  e.task = session.task().name();
  e.which = which;
  e.headline = r.metrics.headline;
  e.headline_value = r.metrics.headline_value();
  e.metrics = r.metrics.values;
  e.loss = r.loss;
  e.examples = r.examples;
  e.random_init = session.random_init;
  e.results_file = config.output_dir / "eval_results.json";
  e.prediction_files = write_prediction_files(r.predictions, config.output_dir, "eval_");
  const nlohmann::json j = {
      {"task", e.task},
      {"method", to_string(config.method)},
      {"model", config.model.string()},
      {"random_init", e.random_init},
      {"checkpoint", which},
      {"split", "dev"},
      {"examples", e.examples},
      {"headline_metric", e.headline},
      {"headline_value", e.headline_value},
      {"dev", e.metrics},
      {"dev_loss", e.loss},
  };
  write_text_atomic(e.results_file, j.dump(2) + "\n");
  log::info("eval (", which, "): ", e.task, " dev ", e.headline, " ", log::fixed(e.headline_value, 4), " on ",
            e.examples, " examples; ", e.results_file.string());
  return e;
}

namespace {

// Generative tasks: the task's own rows (generated responses, scored choices) as JSON Lines, and
// its metrics where the rows are labelled.
PredictionSummary predict_jsonl(const TrainConfig& config, const Session& session, TaskModelImpl& model, const Task& task,
                                const EncodedSplit& rows, const Batcher& batcher, const fs::path& out,
                                const std::string& which, const std::string& split) {
  TaskEvalContext context;
  context.model = &model;
  context.tokenizer = session.tokenizer.get();
  context.batcher = &batcher;
  context.batch_size = config.training.per_device_eval_batch_size;
  context.predictions = true;
  TaskEvaluation r;
  {
    model.eval();
    at::NoGradGuard no_grad;
    AutocastScope autocast(session.runtime);
    r = task.evaluate_split(rows, context);
  }
  PredictionSummary summary;
  summary.file = out;
  summary.rows = static_cast<int64_t>(r.rows.size());
  summary.metrics = r.metrics.values;
  summary.metrics["loss"] = r.loss;
  std::string text;
  for (const std::string& row : r.rows) text += row + "\n";
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_text_atomic(out, text);
  log::info("predict (", which, "): ", summary.rows, " rows of ", task.name(), " ", split, " -> ", out.string(),
            " (JSON Lines); ", r.metrics.headline, " ", log::fixed(r.metrics.headline_value(), 4));
  return summary;
}

}  // namespace

PredictionSummary predict_run(const TrainConfig& config, const fs::path& out, const std::string& which,
                              const std::string& split) {
  SessionOptions options;
  options.train = false;
  options.dev = false;
  options.metrics_log = false;
  Session session = make_session(config, options);
  const Task& task = session.task();
  const std::vector<Example> examples = load_prediction_examples(config, task, split);
  TaskModel model = load_run_model(config, which, /*merge_lora=*/true);
  model->to(session.runtime.device);

  const EncodedSplit rows = task.encode(examples, *session.tokenizer, config.max_seq_length);
  const Batcher batcher = make_eval_batcher(config, task, rows, session.tokenizer->pad_id());
  if (task.evaluates_itself()) return predict_jsonl(config, session, *model, task, rows, batcher, out, which, split);
  const std::unique_ptr<SplitPredictions> predictions = task.start_predictions(rows);
  {
    const bool was_training = model->is_training();
    model->eval();
    at::NoGradGuard no_grad;
    auto stream = batcher.stream(/*epoch=*/0);
    while (auto batch = stream.next()) {
      AutocastScope autocast(session.runtime);
      predictions->add(model->forward(to_inputs(*batch, session.runtime)), *batch);
    }
    if (was_training) model->train();
  }
  const PredictionFiles files = predictions->files(examples);
  LP_CHECK(!files.files.empty(), "predict: ", task.name(), " made no prediction file");

  PredictionSummary summary;
  summary.file = out;
  summary.rows = files.rows;
  summary.counts = files.counts;
  if (out.has_parent_path()) fs::create_directories(out.parent_path());
  write_text_atomic(out, files.files.front().second);
  for (size_t i = 1; i < files.files.size(); ++i) {
    const std::string& name = files.files[i].first;  // "null_odds.json" -> <out stem>_null_odds.json
    summary.other_files.push_back(out.parent_path() / (out.stem().string() + "_" + name));
    write_text_atomic(summary.other_files.back(), files.files[i].second);
  }
  log::info("predict (", which, "): ", summary.rows, " predictions for ", task.name(), " ", split, " -> ",
            out.string());
  return summary;
}

}  // namespace lightpeft
