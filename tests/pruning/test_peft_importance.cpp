// Module importance (||delta|| / ||W x + b|| over non-padding tokens, second half of the steps,
// NaN/Inf -> 0) and rank importance (|signed mean of A * dA| + |signed mean of B * dB|) against
// hand computations.
#include <cmath>
#include <limits>

#include <ATen/ops/linalg_vector_norm.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/attention_mask.h"
#include "lightpeft/models/bert.h"
#include "lightpeft/pruning/estimate_window.h"
#include "lightpeft/pruning/module_importance.h"
#include "lightpeft/pruning/rank_importance.h"
#include "pruning_test_util.h"

namespace lightpeft {
namespace {

using testing::max_abs_diff;
using testing::tiny_inputs;
using testing::tiny_lora_model;

at::Tensor t2(std::vector<float> v, int64_t rows, int64_t cols) {
  return at::tensor(v).view({rows, cols});
}

TEST(EstimateWindow, SecondHalfAsOfficialSlice) {
  // imp[total_steps // 2:]: 800 steps -> 400..799; 5 steps -> 2, 3, 4.
  EXPECT_FALSE(in_recorded_half(399, 800));
  EXPECT_TRUE(in_recorded_half(400, 800));
  EXPECT_FALSE(in_recorded_half(1, 5));
  EXPECT_TRUE(in_recorded_half(2, 5));
  EXPECT_TRUE(in_recorded_half(0, 1));
}

TEST(RankImportance, HandComputedSignedMeans) {
  auto A = t2({1, 2, 3, -1, 0, 1}, 2, 3);           // (r = 2, in = 3)
  auto B = t2({1, -1, 2, 0, 0, 3, 1, 1}, 4, 2);     // (out = 4, r = 2)
  A.mutable_grad() = t2({0.1f, -0.2f, 0.3f, 0.5f, 0.5f, -0.5f}, 2, 3);
  B.mutable_grad() = t2({0.5f, 1, -0.5f, 0, 1, -1, 0.5f, 0.2f}, 4, 2);
  // A*dA rows: (0.1, -0.4, 0.9) mean 0.2; (-0.5, 0, -0.5) mean -1/3 -> |.| 1/3.
  // B*dB cols: (0.5, -1, 0, 0.5) mean 0; (-1, 0, -3, 0.2) mean -0.95 -> 0.95.
  // (The mean of absolute values would give 0.5 for column 0: the sign matters.)
  auto s = rank_taylor_scores(A, B);
  EXPECT_LT(max_abs_diff(s, at::tensor(std::vector<double>{0.2, 1.0 / 3 + 0.95})), 1e-6);
  // A missing gradient contributes nothing.
  B.mutable_grad() = torch::Tensor();
  EXPECT_LT(max_abs_diff(rank_taylor_scores(A, B), at::tensor(std::vector<double>{0.2, 1.0 / 3})),
            1e-6);
  EXPECT_THROW(rank_taylor_scores(A, t2({1, 2, 3}, 3, 1)), Error);
}

TEST(RankImportance, AveragesTheSecondHalfOfTheSteps) {
  auto peft = tiny_lora_model();
  const std::string path = "bert.encoder.layer.0.attention.self.value";
  auto lora = peft.lora(path);
  RankImportance imp(peft, /*total_steps=*/3);  // records steps 1 and 2
  EXPECT_EQ(imp.paths().size(), peft.layers.size());
  std::vector<at::Tensor> per_step;
  for (int64_t step = 0; step < 3; ++step) {
    torch::manual_seed(100 + step);
    for (auto& kv : peft.layers) {
      auto A = kv.second->rank_factor_in(), B = kv.second->rank_factor_out();
      A.mutable_grad() = at::randn(A.sizes());
      B.mutable_grad() = at::randn(B.sizes());
    }
    per_step.push_back(rank_taylor_scores(lora->lora_A->weight, lora->lora_B->weight));
    imp.accumulate(step);
  }
  EXPECT_EQ(imp.recorded_steps(), 2);
  auto scores = imp.scores();
  EXPECT_LT(max_abs_diff(scores.at(path), (per_step[1] + per_step[2]) / 2), 1e-6);
  EXPECT_EQ(scores.at(path).size(0), 4);
}

TEST(RankImportance, AdapterDownIsAAndUpIsB) {
  auto peft = testing::tiny_adapter_model();
  RankImportance imp(peft, 1);
  const std::string path = peft.layers.begin()->first;
  auto adapter = peft.layer_as<BottleneckAdapterImpl>(path);
  adapter->adapter_down->weight.mutable_grad() = at::ones_like(adapter->adapter_down->weight);
  adapter->adapter_up->weight.mutable_grad() = at::ones_like(adapter->adapter_up->weight);
  imp.accumulate(0);
  auto expected = rank_taylor_scores(adapter->adapter_down->weight, adapter->adapter_up->weight);
  EXPECT_LT(max_abs_diff(imp.scores().at(path), expected), 1e-7);
  // down (width, out): per unit the mean over its row; up (out, width): over its column.
  auto by_hand = adapter->adapter_down->weight.mean(1).abs() + adapter->adapter_up->weight.mean(0).abs();
  EXPECT_LT(max_abs_diff(expected, by_hand), 1e-7);
}

// The recorder's core on hand-made tensors: padding excluded, NaN/Inf step values -> 0, only the
// second half averaged, token-weighted over micro-batches.
TEST(ModuleImportance, HandComputedRatiosPaddingAndNan) {
  auto peft = tiny_lora_model();
  ModuleImportance imp(peft, /*total_steps=*/4);  // records steps 2 and 3
  ASSERT_GE(imp.paths().size(), 2u);
  auto base = at::tensor(std::vector<float>{3, 4, 0, 0, 1, 0}).view({1, 3, 2});
  auto delta = at::tensor(std::vector<float>{0, 5, 1, 0, 2, 0}).view({1, 3, 2});
  auto mask = at::tensor(std::vector<int64_t>{1, 0, 1}).view({1, 3});
  // Per token: 5/5 = 1, 1/0 = inf (a padding token: ignored), 2/1 = 2 -> step value 1.5.
  for (int64_t step : {0, 1}) {  // first half: ignored whatever the values
    imp.begin_step(step, mask);
    imp.observe(0, base * 1e-3, delta);
    imp.end_step();
  }
  imp.begin_step(2, mask);
  imp.observe(0, base, delta);
  imp.end_step();
  // Step 3: a zero base output on a real token gives Inf -> the step value is 0 (official
  // NaN/Inf -> 0); module 1 sees no forward at all -> 0 too.
  imp.begin_step(3, at::tensor(std::vector<int64_t>{1, 1, 1}).view({1, 3}));
  imp.observe(0, base, delta);
  imp.end_step();
  EXPECT_EQ(imp.recorded_steps(), 2);
  auto scores = imp.scores();
  EXPECT_FLOAT_EQ(scores.at(imp.paths()[0]), (1.5f + 0.0f) / 2);
  EXPECT_FLOAT_EQ(scores.at(imp.paths()[1]), 0.0f);
}

TEST(ModuleImportance, MicroBatchesAreTokenWeighted) {
  auto peft = tiny_lora_model();
  ModuleImportance imp(peft, 1);
  auto base = at::tensor(std::vector<float>{1, 0, 1, 0, 1, 0}).view({1, 3, 2});
  imp.begin_step(0, at::tensor(std::vector<int64_t>{1, 1, 0}).view({1, 3}));
  imp.observe(0, base, base * 2.0);  // two tokens of ratio 2
  imp.set_attention_mask(at::tensor(std::vector<int64_t>{1, 0, 0}).view({1, 3}));
  imp.observe(0, base, base * 5.0);  // one token of ratio 5
  imp.end_step();
  EXPECT_FLOAT_EQ(imp.scores().at(imp.paths()[0]), 3.0f);  // (2 + 2 + 5) / 3
}

// Through the model: the probe leaves outputs and keys alone, and the recorded value for the
// first query equals ||delta(h)|| / ||W h + b|| on the embedding output h, over real tokens.
TEST(ModuleImportance, ThroughTheModelEqualsHandComputation) {
  auto peft = tiny_lora_model();
  auto in = tiny_inputs();
  peft.model->train();
  std::vector<std::string> keys_before;
  for (const auto& p : peft.model->named_parameters()) keys_before.push_back(p.key());
  at::Tensor logits_before;
  {
    torch::NoGradGuard no_grad;
    logits_before = peft.forward(in).logits;
  }

  ModuleImportance imp(peft, /*total_steps=*/2);
  imp.attach();
  std::vector<std::string> keys_after;
  for (const auto& p : peft.model->named_parameters()) keys_after.push_back(p.key());
  EXPECT_EQ(keys_after, keys_before);

  imp.begin_step(0, in.attention_mask);  // not recorded
  peft.forward(in);
  imp.end_step();
  imp.begin_step(1, in.attention_mask);
  auto out = peft.model->forward(in, {}, /*output_hidden_states=*/true);
  imp.end_step();
  EXPECT_EQ(max_abs_diff(out.logits, logits_before), 0.0);

  const std::string path = "bert.encoder.layer.0.attention.self.query";
  auto lora = peft.lora(path);
  torch::NoGradGuard no_grad;
  auto h = out.hidden_states[0];
  auto ratio = at::linalg_vector_norm(lora->lora_delta(h), 2, {-1}) /
               at::linalg_vector_norm(lora->base_layer->forward(h), 2, {-1});
  auto valid = in.attention_mask == 1;
  const double expected = ratio.masked_select(valid).mean().item<double>();
  auto scores = imp.scores();
  EXPECT_NEAR(scores.at(path), expected, 1e-5 * expected);
  for (const auto& kv : scores) EXPECT_GT(kv.second, 0.0f) << kv.first;

  // Evaluation forwards are not recorded.
  peft.model->eval();
  imp.begin_step(1, in.attention_mask);
  peft.forward(in);
  imp.end_step();
  EXPECT_NEAR(imp.scores().at(path), expected / 2, 1e-5 * expected);  // a 0 step averaged in

  imp.detach();
  auto slot = peft.model->named_modules()[path];
  EXPECT_TRUE(dynamic_cast<LoraLinearImpl*>(slot.get()) != nullptr);
}

TEST(ModuleImportance, AdapterRatioIsAdapterOutputOverLinearOutput) {
  auto peft = testing::tiny_adapter_model();
  auto in = tiny_inputs();
  peft.model->train();
  ModuleImportance imp(peft, 1);
  imp.attach();
  imp.begin_step(0, in.attention_mask);
  auto out = peft.model->forward(in, {}, true);
  imp.end_step();
  imp.detach();
  // layer 0's attention.output.dense sees the attention context; recompute it from hidden_states[0].
  const std::string path = "bert.encoder.layer.0.attention.output.dense";
  auto adapter = peft.layer_as<BottleneckAdapterImpl>(path);
  torch::NoGradGuard no_grad;
  auto h = out.hidden_states[0];
  auto ext = additive_attention_mask(in.attention_mask, at::kFloat);
  auto context = dynamic_cast<BertModelImpl&>(peft.model->backbone()).encoder->layer_at(0)->attention->self->forward(h, ext);
  auto y = adapter->base_layer->forward(context);
  auto ratio = at::linalg_vector_norm(adapter->adapter_delta(y), 2, {-1}) /
               at::linalg_vector_norm(y, 2, {-1});
  const double expected = ratio.masked_select(in.attention_mask == 1).mean().item<double>();
  EXPECT_NEAR(imp.scores().at(path), expected, 1e-5 * expected);
}

}  // namespace
}  // namespace lightpeft

namespace lightpeft {
namespace {

// On a GPU the recorders keep their sums on the device and give the CPU's values (skipped without
// CUDA).
TEST(PeftImportance, CudaMatchesCpu) {
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device";
  auto run = [](const at::Device& device) {
    auto peft = tiny_lora_model(12);
    peft.model->to(device);
    peft.model->train();
    ModuleImportance module_imp(peft, 2);
    RankImportance rank_imp(peft, 2);
    module_imp.attach();
    auto labels = at::tensor(std::vector<int64_t>{0, 1, 2}, at::kLong).to(device);
    for (int64_t step = 0; step < 2; ++step) {
      auto in = tiny_inputs(3, 7, 40 + step);
      in.input_ids = in.input_ids.to(device);
      in.attention_mask = in.attention_mask.to(device);
      module_imp.begin_step(step, in.attention_mask);
      auto loss = sequence_classification_loss(peft.model->config(), peft.forward(in).logits, labels);
      for (auto& p : peft.model->parameters()) p.mutable_grad() = torch::Tensor();
      loss.backward();
      rank_imp.accumulate(step);
      module_imp.end_step();
    }
    module_imp.detach();
    return std::make_pair(module_imp.scores(), rank_imp.scores());
  };
  auto cpu = run(at::kCPU);
  auto gpu = run(at::Device(at::kCUDA, 0));
  for (const auto& kv : cpu.first)
    EXPECT_NEAR(gpu.first.at(kv.first), kv.second, 1e-4 * (1 + std::abs(kv.second))) << kv.first;
  for (const auto& kv : cpu.second)
    EXPECT_LT(max_abs_diff(gpu.second.at(kv.first), kv.second), 1e-4) << kv.first;
}

}  // namespace
}  // namespace lightpeft
