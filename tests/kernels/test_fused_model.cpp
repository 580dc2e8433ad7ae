// The models with LIGHTPEFT_KERNELS=fused: on CPU nothing changes (bitwise); on a GPU an estimate
// step (LoRA on every linear, head and neuron masks, module and rank importance recording) computes
// what the reference step computes: loss, gradients of every trainable tensor, importance scores.
#include <map>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randint.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "../pruning/pruning_test_util.h"
#include "kernels_test_util.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/pruning/foundation_masks.h"
#include "lightpeft/pruning/module_importance.h"
#include "lightpeft/pruning/rank_importance.h"

namespace lightpeft {
namespace {

using kernels::Backend;
using testing::rel_err;

struct StepResult {
  at::Tensor loss;
  std::map<std::string, at::Tensor> grads;  // every trainable parameter and mask
  std::map<std::string, float> module_scores;
  std::map<std::string, at::Tensor> rank_scores;
};

// One estimate-stage step (step 1 of 2: in the recorded half) under `backend`.
StepResult estimate_step(PeftModel& peft, FoundationMasks& masks, const ModelInputs& inputs,
                         const at::Tensor& labels, Backend backend, bool bf16_autocast = false) {
  kernels::BackendScope scope(backend);
  const auto device = labels.device();
  ModuleImportance modules(peft, 2);
  RankImportance ranks(peft, 2);
  modules.attach();
  peft.model->train();
  for (auto& p : peft.model->parameters()) p.mutable_grad().reset();
  for (auto& p : masks->parameters()) p.mutable_grad().reset();
  modules.begin_step(1, inputs.attention_mask);
  if (bf16_autocast && device.is_cuda()) {
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
  }
  auto logits = peft.forward(inputs, masks->layer_masks()).logits;
  if (bf16_autocast && device.is_cuda()) {
    at::autocast::set_autocast_enabled(at::kCUDA, false);
    at::autocast::clear_cache();
  }
  auto loss = sequence_classification_loss(peft.model->config(), logits.to(at::kFloat), labels) +
              1e-4 * masks->l1_penalty();
  loss.backward();
  ranks.accumulate(1);
  modules.end_step();
  modules.detach();
  StepResult r;
  r.loss = loss.detach();
  for (const auto& kv : peft.model->named_parameters())
    if (kv.value().grad().defined()) r.grads[kv.key()] = kv.value().grad().clone();
  for (const auto& kv : masks->named_parameters()) r.grads["mask." + kv.key()] = kv.value().grad().clone();
  r.module_scores = modules.scores();
  r.rank_scores = ranks.scores();
  return r;
}

TEST(FusedModel, CpuModelsAreUnchangedByTheSwitch) {
  auto peft = testing::tiny_lora_model(6);
  FoundationMasks masks(peft.model->config());
  auto inputs = testing::tiny_inputs();
  auto labels = at::randint(0, 3, {3}, at::kLong);
  auto ref = estimate_step(peft, masks, inputs, labels, Backend::reference);
  auto fused = estimate_step(peft, masks, inputs, labels, Backend::fused);
  EXPECT_TRUE(at::equal(ref.loss, fused.loss));
  ASSERT_EQ(ref.grads.size(), fused.grads.size());
  for (const auto& kv : ref.grads) EXPECT_TRUE(at::equal(kv.second, fused.grads.at(kv.first))) << kv.first;
  EXPECT_EQ(ref.module_scores, fused.module_scores);
  for (const auto& kv : ref.rank_scores) EXPECT_TRUE(at::equal(kv.second, fused.rank_scores.at(kv.first)));
  EXPECT_GT(ref.grads.size(), 20u);  // LoRA A/B of 12 modules, classifier, 4 masks
}

void expect_steps_match(const StepResult& ref, const StepResult& got, double tol) {
  EXPECT_LT(rel_err(got.loss, ref.loss), tol);
  ASSERT_EQ(ref.grads.size(), got.grads.size());
  for (const auto& kv : ref.grads) EXPECT_LT(rel_err(got.grads.at(kv.first), kv.second), tol) << kv.first;
  for (const auto& kv : ref.module_scores) {
    const double want = kv.second, have = got.module_scores.at(kv.first);
    EXPECT_NEAR(have, want, tol * std::max(1.0, std::abs(want))) << kv.first;
  }
  for (const auto& kv : ref.rank_scores)
    EXPECT_LT(rel_err(got.rank_scores.at(kv.first), kv.second), tol) << kv.first;
}

TEST(FusedModel, EstimateStepMatchesReferenceOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  for (auto type : {"bert", "roberta"}) {
    SCOPED_TRACE(type);
    auto peft = testing::tiny_lora_model(7, type);
    peft.model->to(at::kCUDA);
    FoundationMasks masks(peft.model->config());
    masks->to(at::kCUDA);
    {
      torch::NoGradGuard no_grad;  // masks away from 1 so that they matter
      for (auto& p : masks->parameters()) p.uniform_(0.2, 1.5);
    }
    auto inputs = testing::tiny_inputs(4, 9);
    inputs.input_ids = inputs.input_ids.to(at::kCUDA);
    inputs.attention_mask = inputs.attention_mask.to(at::kCUDA);
    auto labels = at::randint(0, 3, {4}, at::TensorOptions().dtype(at::kLong).device(at::kCUDA));
    auto ref = estimate_step(peft, masks, inputs, labels, Backend::reference);
    auto fused = estimate_step(peft, masks, inputs, labels, Backend::fused);
    expect_steps_match(ref, fused, testing::kFp32Grad);
    auto ref16 = estimate_step(peft, masks, inputs, labels, Backend::reference, true);
    auto fused16 = estimate_step(peft, masks, inputs, labels, Backend::fused, true);
    EXPECT_LT(rel_err(fused16.loss, ref16.loss), testing::kBf16);
  }
}

}  // namespace
}  // namespace lightpeft
