// What a user does with a run besides training it: eval (reproduces the trainer's final dev
// metrics exactly), predict (one valid label per test row), prune only (a plan, no fine-tuning, and
// a later train reuses it), and the timings and peak memory results.json records.
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <ATen/ATen.h>

#include "lightpeft/core/error.h"
#include "lightpeft/train/inference.h"
#include "lightpeft/train/trainer.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;

class RunToolsTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::make_tiny_run_files(root_.path()); }
  TrainConfig config(const std::string& method, const fs::path& out, const ConfigOverrides& sets = {}) {
    return parse_train_config(testing::tiny_config_yaml(root_.path(), method, out), "test.yaml", sets);
  }
  testing::TempDir root_;
};

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(testing::read_file(p)); }

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_F(RunToolsTest, EvalReproducesTheFinalDevMetricsExactly) {
  for (const std::string method : {"lora", "light-peft", "full", "adapter"}) {
    const TrainConfig c = config(method, root_ / method);
    run_training(c);
    const auto results = read_json(c.output_dir / "results.json");
    const RunEvaluation e = evaluate_run(c);
    EXPECT_EQ(e.headline, results["headline_metric"]) << method;
    EXPECT_EQ(e.headline_value, results["headline_value"].get<double>()) << method;
    for (const auto& [k, v] : results["dev"].items()) EXPECT_EQ(e.metrics.at(k), v.get<double>()) << method << " " << k;
    EXPECT_EQ(e.loss, results["dev_loss"].get<double>()) << method;
    EXPECT_EQ(e.examples, 16);
    const auto written = read_json(c.output_dir / "eval_results.json");
    EXPECT_EQ(written["headline_value"].get<double>(), e.headline_value);
    EXPECT_EQ(written["checkpoint"], "final");
    EXPECT_EQ(written["random_init"], true);
    EXPECT_NO_THROW(evaluate_run(c, "best")) << method;
  }
}

TEST_F(RunToolsTest, EvalWithoutAFinishedRunIsAClearError) {
  const TrainConfig c = config("lora", root_ / "never-trained");
  try {
    evaluate_run(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds no finished run"), std::string::npos) << e.what();
  }
}

TEST_F(RunToolsTest, PredictWritesOneValidLabelPerTestRow) {
  const TrainConfig c = config("light-peft", root_ / "lp");
  run_training(c);
  const fs::path out = root_ / "preds/test.tsv";
  const PredictionSummary s = predict_run(c, out);
  EXPECT_EQ(s.rows, 12);
  const auto lines = lines_of(out);
  ASSERT_EQ(lines.size(), 13u);
  EXPECT_EQ(lines[0], "index\tprediction");
  int64_t counted = 0;
  for (size_t i = 1; i < lines.size(); ++i) {
    const auto tab = lines[i].find('\t');
    ASSERT_NE(tab, std::string::npos) << lines[i];
    EXPECT_EQ(lines[i].substr(0, tab), std::to_string(i - 1));  // no id column: the row number
    const std::string label = lines[i].substr(tab + 1);
    EXPECT_TRUE(label == "neg" || label == "pos") << lines[i];
  }
  for (const auto& [label, n] : s.counts) counted += n;
  EXPECT_EQ(counted, 12);
  // The labelled dev file predicted the same way gives the dev accuracy eval reports.
  TrainConfig dev_as_test = c;
  dev_as_test.user_task->test_file = root_ / "dev.csv";
  predict_run(dev_as_test, root_ / "dev.tsv");
  const auto dev_lines = lines_of(root_ / "dev.tsv"), truth = lines_of(root_ / "dev.csv");
  ASSERT_EQ(dev_lines.size(), 17u);
  int correct = 0;
  for (size_t i = 1; i < dev_lines.size(); ++i)
    correct += truth[i].substr(truth[i].rfind(',') + 1) == dev_lines[i].substr(dev_lines[i].find('\t') + 1);
  EXPECT_DOUBLE_EQ(correct / 16.0, evaluate_run(c).headline_value);
}

TEST_F(RunToolsTest, PredictsWithLoraMergedIntoTheBaseAndTheSameOutputs) {
  // predict folds LoRA into the base weights (one GEMM per linear); eval keeps the trained layout
  // so that it reproduces the trainer's numbers exactly; adapters cannot be merged and stay.
  for (const std::string method : {"lora", "light-peft", "adapter"}) {
    const TrainConfig c = config(method, root_ / method);
    run_training(c);
    TaskModel as_trained = load_run_model(c, "final");
    TaskModel merged = load_run_model(c, "final", /*merge_lora=*/true);
    auto has_lora = [](const TaskModel& m) {
      for (const auto& kv : m->named_parameters())
        if (kv.key().find("lora_") != std::string::npos) return true;
      return false;
    };
    EXPECT_TRUE(method == "adapter" || has_lora(as_trained)) << method;
    EXPECT_FALSE(has_lora(merged)) << method;
    EXPECT_EQ(merged->is_training(), false);
    ModelInputs in;
    in.input_ids = at::randint(5, merged->config().vocab_size, {3, 9}, at::kLong);
    in.attention_mask = at::ones({3, 9}, at::kLong);
    in.token_type_ids = at::zeros({3, 9}, at::kLong);
    at::NoGradGuard no_grad;
    const at::Tensor a = as_trained->forward(in).logits, b = merged->forward(in).logits;
    EXPECT_TRUE(at::allclose(a, b, 1e-5, 1e-6)) << method << ": " << (a - b).abs().max().item<float>();
  }
}

TEST_F(RunToolsTest, PredictNeedsATestFile) {
  TrainConfig c = config("lora", root_ / "lora");
  run_training(c);
  c.user_task->test_file.clear();
  EXPECT_THROW(predict_run(c, root_ / "x.tsv"), Error);
  c.user_task->test_file = root_ / "missing.csv";
  try {
    predict_run(c, root_ / "x.tsv");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing.csv"), std::string::npos) << e.what();
  }
}

TEST_F(RunToolsTest, PruneOnlyWritesThePlanAndTrainReusesIt) {
  const TrainConfig c = config("light-peft", root_ / "staged");
  const PruneOnlyResult p = run_estimate_and_prune(c);
  EXPECT_TRUE(fs::exists(p.plan_file));
  EXPECT_TRUE(fs::exists(c.output_dir / "estimate/importance.safetensors"));
  EXPECT_FALSE(fs::exists(c.output_dir / "finetune"));
  EXPECT_FALSE(fs::exists(c.output_dir / "results.json"));
  EXPECT_LT(p.report.after.total, p.report.before.total);
  EXPECT_LT(p.plan.heads_after(), p.plan.heads_before());
  EXPECT_FALSE(p.estimate_reused);
  // Fine-tuning afterwards reuses the estimate and the plan and ends as a run in one go does.
  const TrainConfig direct = config("light-peft", root_ / "direct");
  const std::string plan_before = testing::read_file(p.plan_file);
  run_training(c);
  run_training(direct);
  EXPECT_EQ(testing::read_file(p.plan_file), plan_before);
  EXPECT_EQ(testing::read_file(direct.output_dir / "prune/pruning_plan.json"), plan_before);
  EXPECT_EQ(testing::read_file(c.output_dir / "finetune/final/adapter_model.safetensors"),
            testing::read_file(direct.output_dir / "finetune/final/adapter_model.safetensors"));
  // Prune is for light-peft configs only.
  EXPECT_THROW(run_estimate_and_prune(config("lora", root_ / "l")), Error);
}

TEST_F(RunToolsTest, ResultsRecordPeakMemoryAndStageTimes) {
  const TrainConfig c = config("light-peft", root_ / "lp");
  run_training(c);
  const auto r = read_json(c.output_dir / "results.json");
  ASSERT_TRUE(r.contains("peak_cpu_rss_bytes"));
  EXPECT_GT(r["peak_cpu_rss_bytes"].get<int64_t>(), 10 << 20);  // libtorch alone is more than 10 MiB
  EXPECT_FALSE(r.contains("peak_cuda_allocated_bytes"));        // a CPU run
  ASSERT_TRUE(r.contains("estimate_seconds"));
  EXPECT_GT(r["estimate_seconds"].get<double>(), 0.0);
  ASSERT_TRUE(r.contains("finetune_seconds"));
  ASSERT_TRUE(r.contains("total_seconds"));
  EXPECT_GE(r["total_seconds"].get<double>(), r["finetune_seconds"].get<double>());
  // A resumed run reports the estimate time the first run measured.
  const double first = r["estimate_seconds"].get<double>();
  fs::remove(c.output_dir / "results.json");
  run_training(c);
  EXPECT_DOUBLE_EQ(read_json(c.output_dir / "results.json")["estimate_seconds"].get<double>(), first);
}

TEST_F(RunToolsTest, OverridesTakeEffectInTheRun) {
  const TrainConfig c = config("light-peft", root_ / "o",
                               {"method=lora", "training.num_train_epochs=1", "lora.r=2"});
  EXPECT_EQ(c.method, Method::lora);
  TrainResult r = run_training(c);
  const auto results = read_json(c.output_dir / "results.json");
  EXPECT_EQ(results["method"], "lora");
  EXPECT_EQ(results["finetune_steps"], 5);  // 40 rows / 8, one epoch
  const auto adapter = read_json(c.output_dir / "finetune/final/adapter_config.json");
  EXPECT_EQ(adapter["r"], 2);
  // The resolved config (overrides applied) is what output_dir records.
  EXPECT_NE(testing::read_file(c.output_dir / "config.yaml").find("num_train_epochs: 1"), std::string::npos);
}

}  // namespace
}  // namespace lightpeft
