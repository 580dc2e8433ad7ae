// `lightpeft train` end to end on a tiny random-init BERT and a tiny user task the test writes:
// every method runs and writes its outputs; light-peft prunes; an interrupted run resumes to the
// very same weights; a different config in the same output_dir is refused.
#include <fstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/train/trainer.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

using testing::tiny_config_yaml;

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::make_tiny_run_files(root_.path());
  }
  TrainResult train(const std::string& method, const fs::path& out, TrainOptions options = {}) {
    return run_training(parse_train_config(tiny_config_yaml(root_.path(), method, out), "test.yaml"), options);
  }
  TempDir root_;
};

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(testing::read_file(p)); }

TEST_F(TrainerTest, LoraRunWritesResultsMetricsAndAdapter) {
  const fs::path out = root_ / "lora";
  TrainResult r = train("lora", out);
  EXPECT_EQ(r.headline, "accuracy");
  EXPECT_GE(r.headline_value, 0.0);
  EXPECT_LE(r.headline_value, 1.0);
  EXPECT_TRUE(r.random_init);
  auto results = read_json(out / "results.json");
  EXPECT_EQ(results["method"], "lora");
  EXPECT_EQ(results["random_init"], true);
  EXPECT_EQ(results["finetune_steps"], 10);  // 40 rows / 8 x 2 epochs
  EXPECT_LT(results["trainable_parameters"].get<int64_t>(), results["total_parameters"].get<int64_t>());
  EXPECT_TRUE(fs::exists(out / "finetune/final/adapter_config.json"));
  EXPECT_TRUE(fs::exists(out / "finetune/best/adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(out / "config.yaml"));
  // metrics.jsonl: one line per step (logging_steps 1), an eval line per epoch, and the final line.
  std::ifstream in(out / "metrics.jsonl");
  int steps = 0, evals = 0;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("loss")) ++steps;
    if (j.contains("eval_accuracy")) ++evals;
  }
  EXPECT_EQ(steps, 10);
  EXPECT_GE(evals, 2);
}

TEST_F(TrainerTest, FullAndAdapterMethodsRun) {
  TrainResult full = train("full", root_ / "full");
  EXPECT_EQ(full.trainable_parameters, full.total_parameters);
  EXPECT_TRUE(fs::exists(root_ / "full/finetune/final/model.safetensors"));
  TrainResult adapter = train("adapter", root_ / "adapter");
  EXPECT_LT(adapter.trainable_parameters, adapter.total_parameters);
  EXPECT_TRUE(fs::exists(root_ / "adapter/finetune/final/adapter_config.json"));
}

TEST_F(TrainerTest, LightPeftEstimatesPrunesAndFinetunesASmallerModel) {
  const fs::path out = root_ / "lp";
  TrainResult r = train("light-peft", out);
  auto results = read_json(out / "results.json");
  ASSERT_TRUE(results.contains("pruning"));
  auto heads = results["pruning"]["heads"];
  EXPECT_EQ(heads[0], 8);
  EXPECT_LT(heads[1].get<int64_t>(), 8);
  auto params = results["pruning"]["parameters"];
  EXPECT_LT(params[1].get<int64_t>(), params[0].get<int64_t>());
  EXPECT_EQ(r.total_parameters, params[1].get<int64_t>());
  EXPECT_TRUE(fs::exists(out / "prune/pruning_plan.json"));
  EXPECT_TRUE(fs::exists(out / "estimate/importance.safetensors"));
  // The pruned shapes are recorded for the adapter's users.
  ModelConfig pruned = load_model_config(out / "prune/pruned_config.json");
  EXPECT_TRUE(pruned.is_pruned());
}

// Cut a finished run back to an earlier checkpoint, as if it had been killed there, and run it
// again: it resumes and ends with bit-identical weights and the same metrics.
TEST_F(TrainerTest, InterruptedRunResumesToTheSameWeights) {
  for (const std::string method : {"lora", "light-peft"}) {
    const fs::path a = root_ / ("a-" + method), b = root_ / ("b-" + method);
    TrainResult ra = train(method, a);
    TrainResult rb0 = train(method, b);
    (void)rb0;
    fs::remove_all(b / "finetune/checkpoint-10");
    fs::remove_all(b / "finetune/final");
    fs::remove(b / "results.json");
    ASSERT_TRUE(fs::exists(b / "finetune/checkpoint-8")) << method;
    TrainResult rb = train(method, b);
    EXPECT_EQ(testing::read_file(a / "finetune/final/adapter_model.safetensors"),
              testing::read_file(b / "finetune/final/adapter_model.safetensors"))
        << method;
    EXPECT_DOUBLE_EQ(ra.headline_value, rb.headline_value) << method;
  }
}

// Interrupted inside the estimate stage (before its outputs were complete) or between prune and
// finetune: the estimate stage restarts from its beginning with the same seed, the plan is made
// again, and the run still ends bit-identical to an uninterrupted one.
TEST_F(TrainerTest, RunInterruptedInEstimateOrPruneEndsTheSame) {
  const fs::path a = root_ / "a", b = root_ / "b", c = root_ / "c";
  TrainResult ra = train("light-peft", a);
  train("light-peft", b);
  train("light-peft", c);
  // b: killed mid-estimate -> no done marker, nothing of prune/finetune.
  fs::remove(b / "estimate/done.json");
  fs::remove(b / "estimate/importance.safetensors");
  for (const char* d : {"prune", "finetune"}) fs::remove_all(b / d);
  fs::remove(b / "results.json");
  // c: killed after the estimate stage, before the plan was written.
  for (const char* d : {"prune", "finetune"}) fs::remove_all(c / d);
  fs::remove(c / "results.json");
  TrainResult rb = train("light-peft", b), rc = train("light-peft", c);
  for (const fs::path& run : {b, c}) {
    EXPECT_EQ(testing::read_file(a / "prune/pruning_plan.json"), testing::read_file(run / "prune/pruning_plan.json"))
        << run;
    EXPECT_EQ(testing::read_file(a / "finetune/final/adapter_model.safetensors"),
              testing::read_file(run / "finetune/final/adapter_model.safetensors"))
        << run;
  }
  EXPECT_DOUBLE_EQ(ra.headline_value, rb.headline_value);
  EXPECT_DOUBLE_EQ(ra.headline_value, rc.headline_value);
}

TEST_F(TrainerTest, CorruptCheckpointFallsBackToThePreviousOne) {
  const fs::path a = root_ / "a", b = root_ / "b";
  train("lora", a);
  train("lora", b);
  fs::remove_all(b / "finetune/final");
  fs::remove(b / "results.json");
  // Flip bytes in the newest checkpoint's tensors: its checksum no longer matches.
  {
    std::fstream f(b / "finetune/checkpoint-10/trainable.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-8, std::ios::end);
    f.write("garbage!", 8);
  }
  fs::remove_all(b / "finetune/checkpoint-10.tmp");
  train("lora", b);
  EXPECT_EQ(testing::read_file(a / "finetune/final/adapter_model.safetensors"),
            testing::read_file(b / "finetune/final/adapter_model.safetensors"));
}

TEST_F(TrainerTest, ADifferentConfigInTheSameOutputDirIsRefused) {
  const fs::path out = root_ / "run";
  train("lora", out);
  try {
    train("full", out);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds a run with a different config"), std::string::npos) << e.what();
  }
  TrainOptions overwrite;
  overwrite.overwrite = true;
  EXPECT_NO_THROW(train("full", out, overwrite));
}

TEST_F(TrainerTest, MissingDataFileIsAClearError) {
  fs::remove(root_ / "dev.csv");
  try {
    train("lora", root_ / "x");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dev.csv"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lightpeft

namespace lightpeft {
namespace {

// The loop really optimises: full fine-tuning learns the (trivially separable) tiny task.
TEST_F(TrainerTest, FullFineTuningLearnsTheTinyTask) {
  std::string yaml = tiny_config_yaml(root_.path(), "full", root_ / "learn");
  yaml.replace(yaml.find("num_train_epochs: 2"), 19, "num_train_epochs: 10");
  TrainResult r = run_training(parse_train_config(yaml, "test.yaml"));
  EXPECT_GE(r.headline_value, 0.9);
}

// bf16 autocast on the CPU trains as well (the precision the accuracy study runs in on CPUs).
TEST_F(TrainerTest, Bf16AutocastOnTheCpuLearnsTheTinyTask) {
  std::string yaml = tiny_config_yaml(root_.path(), "full", root_ / "learn-bf16");
  yaml.replace(yaml.find("num_train_epochs: 2"), 19, "num_train_epochs: 10");
  yaml += "dtype: bf16\ndevice: cpu\n";
  TrainResult r = run_training(parse_train_config(yaml, "test.yaml"));
  EXPECT_GE(r.headline_value, 0.9);
  auto results = read_json(root_ / "learn-bf16/results.json");
  EXPECT_GT(results["eval_samples_per_second"].get<double>(), 0.0);
}

}  // namespace
}  // namespace lightpeft

#include "lightpeft/peft/inject.h"
#include "lightpeft/train/export.h"
#include <ATen/ops/allclose.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>

namespace lightpeft {
namespace {

// export --merge: the merged model computes what the run's PEFT model computes, in the default
// format (hf: HF's shapes, pruned units as zeros) and in compact (the pruned shapes).
TEST_F(TrainerTest, ExportMergesTheLightPeftRunIntoAPlainModel) {
  const fs::path run = root_ / "lp", out = root_ / "exported", compact = root_ / "compact";
  train("light-peft", run);
  export_merged_model(run, out);
  ExportOptions options;
  options.format = ExportFormat::compact;
  export_run(run, compact, options);
  auto exported = load_pretrained(out, {HeadKind::sequence_classification, 0, true});
  auto pruned = load_pretrained(compact, {HeadKind::sequence_classification, 0, true});
  EXPECT_FALSE(exported.model->config().is_pruned());
  EXPECT_TRUE(pruned.model->config().is_pruned());
  PeftModel peft = load_finetuned_run(run);
  peft.model->eval();
  exported.model->eval();
  pruned.model->eval();
  ModelInputs in;
  in.input_ids = at::randint(5, 21, {3, 7}, at::kLong);
  in.attention_mask = at::ones({3, 7}, at::kLong);
  torch::NoGradGuard no_grad;
  auto a = peft.model->forward(in).logits, b = exported.model->forward(in).logits;
  EXPECT_TRUE(at::allclose(a, b, 1e-5, 1e-6)) << a << "\n" << b;
  EXPECT_TRUE(at::allclose(a, pruned.model->forward(in).logits, 1e-5, 1e-6));
  EXPECT_TRUE(fs::exists(out / "vocab.txt"));
}

TEST_F(TrainerTest, ExportRefusesAdapters) {
  train("adapter", root_ / "ad");
  EXPECT_THROW(export_merged_model(root_ / "ad", root_ / "x"), Error);
}

}  // namespace
}  // namespace lightpeft
