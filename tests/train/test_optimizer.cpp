// AdamW groups and learning-rate schedules against HF's formulas; AdamW against torch.optim.AdamW's
// update rule written out by hand.
#include <cmath>

#include <gtest/gtest.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/tensor.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "lightpeft/models/norms.h"
#include "lightpeft/train/optimizer.h"

namespace lightpeft {
namespace {

TEST(Schedule, LinearWithWarmupMatchesHf) {
  // transformers.get_linear_schedule_with_warmup(opt, 2, 10): step 0 -> 0, 1 -> 0.5, 2 -> 1, then
  // (10 - s) / 8.
  EXPECT_DOUBLE_EQ(lr_multiplier(LrScheduler::linear, 0, 10, 2), 0.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrScheduler::linear, 1, 10, 2), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrScheduler::linear, 2, 10, 2), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrScheduler::linear, 6, 10, 2), 0.5);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrScheduler::linear, 10, 10, 2), 0.0);
}

TEST(Schedule, CosineAndConstant) {
  EXPECT_NEAR(lr_multiplier(LrScheduler::cosine, 0, 10, 0), 1.0, 1e-12);
  EXPECT_NEAR(lr_multiplier(LrScheduler::cosine, 5, 10, 0), 0.5, 1e-12);
  EXPECT_NEAR(lr_multiplier(LrScheduler::cosine, 10, 10, 0), 0.0, 1e-12);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrScheduler::constant, 7, 10, 2), 1.0);
  EXPECT_DOUBLE_EQ(lr_multiplier(LrScheduler::constant, 1, 10, 2), 0.5);
}

TEST(Schedule, WarmupRatioRoundsUp) {
  OptimConfig o;
  o.warmup_ratio = 0.06;
  EXPECT_EQ(warmup_steps_for(o, 100), 6);
  EXPECT_EQ(warmup_steps_for(o, 101), 7);
  o.warmup_steps = 3;
  EXPECT_EQ(warmup_steps_for(o, 100), 3);
}

struct Tiny : torch::nn::Module {
  Tiny() {
    fc = register_module("fc", torch::nn::Linear(3, 2));
    LayerNorm = register_module("LayerNorm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({2})));
  }
  torch::nn::Linear fc{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT
};

TEST(Optimizer, BiasAndLayerNormDoNotDecay) {
  Tiny m;
  OptimConfig o;
  o.weight_decay = 0.1;
  auto groups = default_param_groups(m, o);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "decay");
  EXPECT_EQ(groups[0].params.size(), 1u);  // fc.weight
  EXPECT_DOUBLE_EQ(groups[0].weight_decay, 0.1);
  EXPECT_EQ(groups[1].params.size(), 3u);  // fc.bias, LayerNorm.weight, LayerNorm.bias
  EXPECT_DOUBLE_EQ(groups[1].weight_decay, 0.0);
}

// Decoder norms by type, whatever their names: LLaMA's RMSNorm, OPT's and GPT-2's LayerNorm.
struct TinyDecoder : torch::nn::Module {
  TinyDecoder() {
    q_proj = register_module("q_proj", torch::nn::Linear(torch::nn::LinearOptions(2, 2).bias(false)));
    input_layernorm = register_module("input_layernorm", RmsNorm(2, 1e-6));
    ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({2})));
  }
  torch::nn::Linear q_proj{nullptr};
  RmsNorm input_layernorm{nullptr};
  torch::nn::LayerNorm ln_1{nullptr};
};

TEST(Optimizer, DecoderNormsDoNotDecay) {
  TinyDecoder m;
  OptimConfig o;
  o.weight_decay = 0.1;
  auto groups = default_param_groups(m, o);
  ASSERT_EQ(groups.size(), 2u);
  ASSERT_EQ(groups[0].params.size(), 1u);
  EXPECT_TRUE(groups[0].params[0].is_same(m.q_proj->weight));
  EXPECT_EQ(groups[1].params.size(), 3u);  // input_layernorm.weight, ln_1.weight, ln_1.bias
}

TEST(Optimizer, AdamWStepIsDecoupled) {
  // One step of torch.optim.AdamW by hand: p -= lr * wd * p; m = (1-b1) g; v = (1-b2) g^2;
  // p -= lr * (m / (1-b1)) / (sqrt(v / (1-b2)) + eps) = lr * sign(g) (nearly).
  auto p = at::tensor({1.0, -2.0}, at::kFloat).set_requires_grad(true);
  OptimConfig o;
  o.learning_rate = 0.1;
  o.weight_decay = 0.5;
  Optimizer opt({{"decay", {p}, 0.1, 0.5}}, o);
  p.mutable_grad() = at::tensor({0.3, -0.4}, at::kFloat);
  opt.step();
  const double eps = 1e-8;
  auto expect = [&](double p0, double g) {
    double q = p0 - 0.1 * 0.5 * p0;
    return q - 0.1 * g / (std::sqrt(g * g) + eps);
  };
  EXPECT_NEAR(p[0].item<double>(), expect(1.0, 0.3), 1e-6);
  EXPECT_NEAR(p[1].item<double>(), expect(-2.0, -0.4), 1e-6);
}

TEST(Optimizer, LrMultiplierScalesEveryGroupsBase) {
  auto a = at::ones({1}).set_requires_grad(true), b = at::ones({1}).set_requires_grad(true);
  OptimConfig o;
  Optimizer opt({{"a", {a}, 1e-3, 0.0}, {"b", {b}, 1e-1, 0.0}}, o);
  opt.set_lr_multiplier(0.5);
  EXPECT_DOUBLE_EQ(opt.lr(0), 5e-4);
  EXPECT_DOUBLE_EQ(opt.lr(1), 5e-2);
}

}  // namespace
}  // namespace lightpeft
