// Runs that cannot go on: an output_dir that cannot be written is an error before any training, and
// a loss that becomes inf/NaN stops the run naming the step, keeping the last good checkpoint as
// the newest (or skips such steps with training.nonfinite_loss: skip).
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/train/trainer.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::contains;

class RunFailures : public ::testing::Test {
 protected:
  void SetUp() override { testing::make_tiny_run_files(root_.path()); }
  // The tiny full fine-tuning run with `replace` applied to its YAML (pairs of old, new).
  TrainConfig config(const fs::path& out, const std::vector<std::pair<std::string, std::string>>& replace = {}) {
    std::string yaml = testing::tiny_config_yaml(root_.path(), "full", out);
    for (const auto& [from, to] : replace) {
      const size_t at = yaml.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) yaml.replace(at, from.size(), to);
    }
    return parse_train_config(yaml, "test.yaml");
  }
  testing::TempDir root_;
};

TEST_F(RunFailures, UnwritableOutputDirIsAnErrorBeforeTraining) {
  testing::write_file(root_ / "file", "not a directory");
  try {
    run_training(config(root_ / "file/run"));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "test.yaml: key 'output_dir': cannot create " + (root_ / "file/run").string()))
        << e.what();
  }
  EXPECT_FALSE(fs::exists(root_ / "file/run"));
}

// A learning rate of 1e30 without clipping blows the weights up in the first step; the loss of the
// second step is not finite.
const std::vector<std::pair<std::string, std::string>> kDiverge = {
    {"learning_rate: 0.01", "learning_rate: 1.0e+30\n  max_grad_norm: 0\n  save_steps: 1"},
    {"  save_steps: 2\n", ""}};

TEST_F(RunFailures, NonFiniteLossStopsNamingTheStepAndKeepsTheLastGoodCheckpoint) {
  const fs::path out = root_ / "run";
  try {
    run_training(config(out, kDiverge));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_TRUE(contains(m, "finetune: the loss became ")) << m;  // nan or -nan: the sign is the CPU's
    EXPECT_TRUE(contains(m, " at step 2; stopping (the last good checkpoint is kept in " + (out / "finetune").string()))
        << m;
    EXPECT_TRUE(contains(m, "training.nonfinite_loss: skip")) << m;
  }
  EXPECT_TRUE(fs::exists(out / "finetune/checkpoint-1/trainer_state.json"));
  EXPECT_FALSE(fs::exists(out / "finetune/checkpoint-2"));
  EXPECT_FALSE(fs::exists(out / "results.json"));
}

TEST_F(RunFailures, NonFiniteLossStepsAreSkippedWhenTheConfigSaysSo) {
  auto skip = kDiverge;
  skip.push_back({"  logging_steps: 1\n", "  logging_steps: 1\n  nonfinite_loss: skip\n"});
  const fs::path out = root_ / "run";
  ::testing::internal::CaptureStderr();
  TrainResult r = run_training(config(out, skip));
  const std::string log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(log, "finetune: step 2 skipped: the loss is ")) << log;
  EXPECT_TRUE(contains(log, "(training.nonfinite_loss: skip)")) << log;
  auto results = nlohmann::json::parse(testing::read_file(out / "results.json"));
  EXPECT_EQ(results["finetune_steps"], 10);
  (void)r;
}

TEST_F(RunFailures, NonFiniteLossKeyIsValidated) {
  try {
    config(root_ / "run", {{"  logging_steps: 1\n", "  logging_steps: 1\n  nonfinite_loss: ignore\n"}});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "nonfinite_loss")) << e.what();
    EXPECT_TRUE(contains(e.what(), "ignore")) << e.what();
  }
}

}  // namespace
}  // namespace lightpeft
