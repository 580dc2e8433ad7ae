// Checkpoints on their own (no training run): what load_latest_checkpoint does with a newest
// checkpoint that was cut short, corrupted, half-written or never finished, and that a save that
// fails (disk full) leaves every earlier checkpoint usable. Also part of the ASan+UBSan subset.
#include <signal.h>
#include <sys/resource.h>

#include <fstream>
#include <string>

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/train/checkpoint.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    weight_ = at::zeros({4, 3});
    weight_.set_requires_grad(true);
    OptimConfig optim;
    optimizer_ = std::make_unique<Optimizer>(std::vector<ParamGroup>{{"w", {weight_}, 0.1, 0.0}}, optim);
  }

  // One optimizer step, then a checkpoint at `step` holding the weight.
  fs::path save(int64_t step, int64_t keep_last = 5) {
    weight_.mutable_grad() = at::ones({4, 3}) * static_cast<double>(step);
    optimizer_->step();
    TrainerState state;
    state.stage = "finetune";
    state.global_step = step;
    state.batch_in_epoch = step;
    return save_checkpoint(stage_, state, {{"w", weight_}}, *optimizer_, keep_last);
  }

  // Loads the newest checkpoint, keeping what was logged (warnings go to stderr).
  std::optional<LoadedCheckpoint> load(std::string* log) {
    ::testing::internal::CaptureStderr();
    auto loaded = load_latest_checkpoint(stage_, optimizer_.get());
    *log = ::testing::internal::GetCapturedStderr();
    return loaded;
  }

  TempDir dir_;
  fs::path stage_ = dir_ / "finetune";
  at::Tensor weight_;
  std::unique_ptr<Optimizer> optimizer_;
};

TEST_F(CheckpointTest, NewestGoodCheckpointIsLoadedWithItsState) {
  save(1);
  fs::path two = save(2);
  auto loaded = load_latest_checkpoint(stage_, optimizer_.get());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->dir, two);
  EXPECT_EQ(loaded->state.global_step, 2);
  EXPECT_EQ(loaded->state.batch_in_epoch, 2);
  EXPECT_TRUE(at::equal(loaded->tensors.at("w"), weight_.detach()));
}

TEST_F(CheckpointTest, CorruptedNewestCheckpointFallsBackToThePreviousWithAWarning) {
  save(1);
  at::Tensor after_one = weight_.detach().clone();
  fs::path two = save(2);
  {  // same size, different bytes: only the checksum can tell
    std::fstream f(two / "trainable.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-4, std::ios::end);
    f.write("\x7f\x7f\x7f\x7f", 4);
  }
  std::string log;
  auto loaded = load(&log);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->state.global_step, 1);
  EXPECT_TRUE(at::equal(loaded->tensors.at("w"), after_one));
  EXPECT_TRUE(testing::contains(log, "checkpoint " + two.string() + " is not usable "
                                "(trainable.safetensors fails its checksum (corrupted?)); trying the previous one"))
      << log;
}

TEST_F(CheckpointTest, CheckpointCutShortFallsBackToThePreviousWithAWarning) {
  save(1);
  fs::path two = save(2);
  fs::resize_file(two / "optimizer.pt", fs::file_size(two / "optimizer.pt") / 2);
  std::string log;
  auto loaded = load(&log);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->state.global_step, 1);
  EXPECT_TRUE(testing::contains(log, "(optimizer.pt has the wrong size (cut short?)); trying the previous one"))
      << log;
}

TEST_F(CheckpointTest, CheckpointWithoutOrWithABrokenStateFileFallsBack) {
  save(1);
  fs::path two = save(2), three = save(3);
  fs::remove(two / "trainer_state.json");
  testing::write_file(three / "trainer_state.json", "{\"stage\": \"finetune\", \"global_st");
  std::string log;
  auto loaded = load(&log);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->state.global_step, 1);
  EXPECT_TRUE(testing::contains(log, "checkpoint " + three.string() + " is not usable")) << log;
  EXPECT_TRUE(testing::contains(log, "checkpoint " + two.string() + " is not usable (no trainer_state.json)")) << log;
}

TEST_F(CheckpointTest, UnfinishedTmpDirectoryIsIgnoredAndNoCheckpointGivesNothing) {
  EXPECT_FALSE(load_latest_checkpoint(stage_, optimizer_.get()).has_value());
  save(1);
  fs::copy(stage_ / "checkpoint-1", stage_ / "checkpoint-2.tmp");
  fs::remove(stage_ / "checkpoint-2.tmp/rng.safetensors");
  auto loaded = load_latest_checkpoint(stage_, optimizer_.get());
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->state.global_step, 1);
  // Every checkpoint broken: none is loaded, and the caller starts the stage afresh.
  fs::remove(stage_ / "checkpoint-1/rng.safetensors");
  EXPECT_FALSE(load_latest_checkpoint(stage_, optimizer_.get()).has_value());
}

TEST_F(CheckpointTest, RotationKeepsTheNewestAndTheBest) {
  for (int64_t s = 1; s <= 4; ++s) save(s, /*keep_last=*/2);
  EXPECT_FALSE(fs::exists(stage_ / "checkpoint-1"));
  EXPECT_FALSE(fs::exists(stage_ / "checkpoint-2"));
  EXPECT_TRUE(fs::exists(stage_ / "checkpoint-3"));
  EXPECT_TRUE(fs::exists(stage_ / "checkpoint-4"));
}

// A save that runs out of space (here: RLIMIT_FSIZE, which fails write() with EFBIG as a full disk
// fails it with ENOSPC) throws a clear error and leaves the earlier checkpoints loadable.
TEST_F(CheckpointTest, FailedSaveKeepsThePreviousCheckpoint) {
  save(1);
  at::Tensor after_one = weight_.detach().clone();
  weight_ = weight_.detach().repeat({2048, 1}).requires_grad_(true);  // ~100 KB of tensors
  OptimConfig optim;
  optimizer_ = std::make_unique<Optimizer>(std::vector<ParamGroup>{{"w", {weight_}, 0.1, 0.0}}, optim);
  struct rlimit old {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old), 0);
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 16 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  try {
    weight_.mutable_grad() = at::ones_like(weight_);
    optimizer_->step();
    TrainerState state;
    state.stage = "finetune";
    state.global_step = 2;
    save_checkpoint(stage_, state, {{"w", weight_}}, *optimizer_, 5);
  } catch (const Error& e) {
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_EQ(message, (stage_ / "checkpoint-2.tmp/trainable.safetensors").string() +
                         ": writing the temporary file failed (disk full?)");
  EXPECT_FALSE(fs::exists(stage_ / "checkpoint-2"));
  auto loaded = load_latest_checkpoint(stage_, nullptr);
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->state.global_step, 1);
  EXPECT_TRUE(at::equal(loaded->tensors.at("w"), after_one));
  // The next save, with space again, succeeds over the debris of the failed one.
  weight_.mutable_grad() = at::ones_like(weight_);
  optimizer_->step();
  TrainerState state;
  state.stage = "finetune";
  state.global_step = 2;
  save_checkpoint(stage_, state, {{"w", weight_}}, *optimizer_, 5);
  EXPECT_EQ(load_latest_checkpoint(stage_, nullptr)->state.global_step, 2);
}

}  // namespace
}  // namespace lightpeft
