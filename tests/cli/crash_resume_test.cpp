// Crash and resume: `lightpeft train` killed with SIGKILL inside each stage (estimate steps, the
// estimate's output files, prune, finetune steps, the middle of a checkpoint write), then started
// again with the same command, ends with the same weights, plan and dev metrics, bit for bit on
// CPU, as a run that was never interrupted. Where it is killed is drawn by a seeded generator
// (LIGHTPEFT_CRASH_SEED to replay another draw); the library kills itself at the named point
// (LIGHTPEFT_TEST_KILL_AT, lightpeft/core/crash_point.h).
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::contains;
using testing::read_file;
using testing::run_cli;

class CrashResume : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::make_tiny_run_files(root_.path());
    const char* env = std::getenv("LIGHTPEFT_CRASH_SEED");
    seed_ = env ? std::strtoul(env, nullptr, 10) : 20261125u;
    rng_.seed(seed_);
  }

  fs::path config_for(const std::string& name, const std::string& method) {
    const fs::path file = root_ / (name + ".yaml");
    testing::write_file(file, testing::tiny_config_yaml(root_.path(), method, root_ / name));
    return file;
  }

  // `lightpeft train`, killed at `kill_at` ("point:n") if given (popen passes our environment on).
  testing::CliResult train(const fs::path& config, const std::string& kill_at = "") {
    if (!kill_at.empty()) ::setenv("LIGHTPEFT_TEST_KILL_AT", kill_at.c_str(), 1);
    auto r = run_cli("train --config " + config.string());
    ::unsetenv("LIGHTPEFT_TEST_KILL_AT");
    return r;
  }

  // Kills the run at `point`'s n-th pass, n drawn from [lo, hi]; checks that it died there.
  void kill_at(const fs::path& config, const std::string& point, int lo, int hi) {
    const int n = std::uniform_int_distribution<int>(lo, hi)(rng_);
    const std::string spec = point + ":" + std::to_string(n);
    auto r = train(config, spec);
    EXPECT_NE(r.code, 0) << spec << " did not kill the run:\n" << r.output;
    EXPECT_FALSE(fs::exists(config.parent_path() / config.stem() / "results.json")) << spec;
    kills_ += spec + " ";
    ++kill_count_;
  }

  // The parts of a finished run that must not depend on interruptions.
  void expect_same_run(const fs::path& a, const fs::path& b, bool pruned) {
    SCOPED_TRACE("seed " + std::to_string(seed_) + ", kills: " + kills_);
    ASSERT_TRUE(fs::exists(b / "results.json"));
    EXPECT_EQ(read_file(a / "finetune/final/adapter_model.safetensors"),
              read_file(b / "finetune/final/adapter_model.safetensors"));
    EXPECT_EQ(read_file(a / "finetune/best/adapter_model.safetensors"),
              read_file(b / "finetune/best/adapter_model.safetensors"));
    if (pruned) EXPECT_EQ(read_file(a / "prune/pruning_plan.json"), read_file(b / "prune/pruning_plan.json"));
    auto ra = nlohmann::json::parse(read_file(a / "results.json"));
    auto rb = nlohmann::json::parse(read_file(b / "results.json"));
    for (const char* key : {"dev", "headline_value", "dev_loss", "best_dev_headline", "best_step", "finetune_steps",
                            "total_parameters", "trainable_parameters"})
      EXPECT_EQ(ra[key], rb[key]) << key;
  }

  testing::TempDir root_;
  unsigned long seed_ = 0;
  std::mt19937 rng_;
  std::string kills_;
  int kill_count_ = 0;
};

// light-peft, killed once in each stage in turn: estimate (4 steps, no checkpoints: it starts
// again), between the estimate's output files, prune (after the plan, after pruned_config.json),
// finetune (10 steps, a checkpoint every 2).
TEST_F(CrashResume, LightPeftKilledInEachStageEndsAsAnUninterruptedRun) {
  const auto started = std::chrono::steady_clock::now();
  auto ref = train(config_for("ref", "light-peft"));
  ASSERT_EQ(ref.code, 0) << ref.output;

  const fs::path config = config_for("run", "light-peft"), run = root_ / "run";
  kill_at(config, "estimate.step", 1, 4);
  EXPECT_FALSE(fs::exists(run / "estimate/done.json"));
  kill_at(config, "estimate.write", 1, 1);
  EXPECT_TRUE(fs::exists(run / "estimate/importance.safetensors"));
  EXPECT_FALSE(fs::exists(run / "estimate/done.json"));
  kill_at(config, "prune", 1, 2);
  EXPECT_TRUE(fs::exists(run / "prune/pruning_plan.json"));
  EXPECT_FALSE(fs::exists(run / "finetune"));
  kill_at(config, "finetune.step", 1, 9);
  auto done = train(config);
  ASSERT_EQ(done.code, 0) << done.output;
  EXPECT_TRUE(contains(done.output, "resuming")) << done.output;
  expect_same_run(root_ / "ref", run, /*pruned=*/true);
  std::cout << "[ crash    ] light-peft: " << kill_count_ << " kills (" << kills_ << "), seed " << seed_ << ", "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";
}

// lora, killed twice in the middle of writing a checkpoint (its tensors written into
// checkpoint-N.tmp, not yet renamed), then once after a finetune step.
TEST_F(CrashResume, KilledMidCheckpointWriteEndsAsAnUninterruptedRun) {
  const auto started = std::chrono::steady_clock::now();
  auto ref = train(config_for("ref", "lora"));
  ASSERT_EQ(ref.code, 0) << ref.output;

  const fs::path config = config_for("run", "lora"), run = root_ / "run";
  kill_at(config, "checkpoint.write", 1, 3);
  bool tmp_left = false;
  for (const auto& e : fs::directory_iterator(run / "finetune"))
    tmp_left = tmp_left || e.path().extension() == ".tmp";
  EXPECT_TRUE(tmp_left) << "the kill should leave a checkpoint-N.tmp behind";
  kill_at(config, "checkpoint.write", 1, 2);
  kill_at(config, "finetune.step", 1, 4);
  auto done = train(config);
  ASSERT_EQ(done.code, 0) << done.output;
  expect_same_run(root_ / "ref", run, /*pruned=*/false);
  std::cout << "[ crash    ] lora: " << kill_count_ << " kills (" << kills_ << "), seed " << seed_ << ", "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() << " s\n";
}

}  // namespace
}  // namespace lightpeft
