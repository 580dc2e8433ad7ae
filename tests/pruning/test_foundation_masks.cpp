// FoundationMasks: official names and shapes, the masked forward (ones == no mask, zeros == the
// physically pruned model), the L1 term and its gradient, mask gradients against finite
// differences, optimiser groups, and the two foundation importance rules.
#include <cmath>

#include <ATen/ops/abs.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/sign.h>
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/pruning/foundation_importance.h"
#include "lightpeft/pruning/foundation_masks.h"
#include "pruning_test_util.h"

namespace lightpeft {
namespace {

using testing::max_abs_diff;
using testing::tiny_config;
using testing::tiny_inputs;

TaskModel tiny_model(uint64_t seed = 5) {
  torch::manual_seed(seed);
  auto m = make_task_model(tiny_config(), HeadKind::sequence_classification);
  m->eval();
  return m;
}

TEST(FoundationMasks, OfficialNamesShapesAndInit) {
  auto config = tiny_config("bert", 2, 4, 12);
  config.attention_units_per_layer = {4, 0};  // a pruned layer with no heads gets an empty mask
  FoundationMasks masks(config);
  std::vector<std::string> keys;
  for (const auto& p : masks->named_parameters()) keys.push_back(p.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"layer.0.early_attn_mask", "layer.0.early_ffn_mask",
                                            "layer.1.early_attn_mask", "layer.1.early_ffn_mask"}));
  EXPECT_EQ(masks->head_mask(0).sizes(), (std::vector<int64_t>{1, 4, 1, 1}));
  EXPECT_EQ(masks->head_mask(1).sizes(), (std::vector<int64_t>{1, 0, 1, 1}));
  EXPECT_EQ(masks->neuron_mask(1).sizes(), (std::vector<int64_t>{1, 12}));
  for (const auto& p : masks->parameters()) {
    EXPECT_EQ(p.scalar_type(), at::kFloat);
    EXPECT_TRUE(p.requires_grad());
    if (p.numel() > 0) EXPECT_EQ(p.min().item<float>(), 1.0f);
  }
  masks->set_trainable(false);
  for (const auto& p : masks->parameters()) EXPECT_FALSE(p.requires_grad());
}

TEST(FoundationMasks, OnesEqualNoMask) {
  auto model = tiny_model();
  FoundationMasks masks(model->config());
  auto in = tiny_inputs();
  torch::NoGradGuard no_grad;
  EXPECT_EQ(max_abs_diff(model->forward(in, masks->layer_masks()).logits, model->forward(in).logits),
            0.0);
}

TEST(FoundationMasks, ZeroMasksEqualThePhysicallyPrunedModel) {
  auto model = tiny_model(5);
  auto pruned = tiny_model(5);
  FoundationMasks masks(model->config());
  {
    torch::NoGradGuard no_grad;
    masks->head_mask(0).index_put_({0, 1, 0, 0}, 0.0);
    masks->head_mask(0).index_put_({0, 3, 0, 0}, 0.0);
    masks->head_mask(1).zero_();  // a layer with no heads left
    for (int64_t i : {0, 4, 5, 11}) masks->neuron_mask(0).index_put_({0, i}, 0.0);
    masks->neuron_mask(1).zero_();  // a layer with no FFN neurons left
  }
  pruned->layer(0).keep_attention_units({0, 2});
  pruned->layer(1).keep_attention_units({});
  pruned->layer(0).keep_mlp_neurons({1, 2, 3, 6, 7, 8, 9, 10});
  pruned->layer(1).keep_mlp_neurons({});
  auto in = tiny_inputs();
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(model->forward(in, masks->layer_masks()).logits, pruned->forward(in).logits),
            1e-5);
}

TEST(FoundationMasks, L1PenaltyIsPlainSumOfAbsAndItsGradientIsSign) {
  FoundationMasks masks(std::vector<int64_t>{3, 2}, std::vector<int64_t>{4, 5});
  torch::manual_seed(1);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : masks->parameters()) p.copy_(at::randn(p.sizes()));
  }
  double expected = 0.0;
  for (const auto& p : masks->parameters()) expected += p.abs().sum().item<double>();
  auto penalty = masks->l1_penalty();
  EXPECT_NEAR(penalty.item<double>(), expected, 1e-5);
  const double lambda = 1e-4;
  (penalty * lambda).backward();
  for (const auto& p : masks->parameters())
    EXPECT_LT(max_abs_diff(p.grad(), at::sign(p.detach()) * lambda), 1e-12);
}

// d loss / d mask from autograd equals a central finite difference, in float64.
TEST(FoundationMasks, MaskGradientsMatchFiniteDifferences) {
  auto model = tiny_model(9);
  model->to(at::kDouble);
  FoundationMasks masks(model->config());
  masks->to(at::kDouble);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : masks->parameters()) p.copy_(at::randn(p.sizes(), at::kDouble) * 0.3 + 1.0);
  }
  auto in = tiny_inputs();
  auto labels = at::tensor(std::vector<int64_t>{0, 2, 1}, at::kLong);
  auto loss_of = [&]() {
    auto logits = model->forward(in, masks->layer_masks()).logits;
    return sequence_classification_loss(model->config(), logits, labels) + 1e-4 * masks->l1_penalty();
  };
  loss_of().backward();
  const double eps = 1e-6;
  for (auto* which : {&masks->head_mask(1), &masks->neuron_mask(0)}) {
    for (int64_t i : {0, 2}) {
      auto& m = *which;
      auto flat_index = [&](double delta) {
        torch::NoGradGuard no_grad;
        m.view({-1})[i] += delta;
      };
      const double autograd = m.grad().view({-1})[i].item<double>();
      double plus, minus;
      {
        torch::NoGradGuard no_grad;
        flat_index(eps);
        plus = loss_of().item<double>();
        flat_index(-2 * eps);
        minus = loss_of().item<double>();
        flat_index(eps);
      }
      EXPECT_NEAR(autograd, (plus - minus) / (2 * eps), 1e-7);
    }
  }
}

TEST(FoundationMasks, ParameterGroupsHaveMultipliersAndNoWeightDecay) {
  FoundationMasks masks(std::vector<int64_t>{2, 2}, std::vector<int64_t>{3, 3});
  auto groups = masks->parameter_groups(100.0, 50.0);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].name, "early_attn_mask");
  EXPECT_EQ(groups[0].parameters.size(), 2u);
  EXPECT_EQ(groups[0].lr_multiplier, 100.0);
  EXPECT_EQ(groups[1].name, "early_ffn_mask");
  EXPECT_EQ(groups[1].lr_multiplier, 50.0);
  EXPECT_EQ(groups[0].weight_decay, 0.0);
  EXPECT_EQ(groups[1].weight_decay, 0.0);
  EXPECT_TRUE(groups[1].parameters[1].is_same(masks->neuron_mask(1)));
  EXPECT_THROW(masks->parameter_groups(-1.0, 1.0), Error);
}

TEST(FoundationImportance, MaskRuleIsTheSignedMaskValues) {
  FoundationMasks masks(std::vector<int64_t>{3}, std::vector<int64_t>{2});
  {
    torch::NoGradGuard no_grad;
    masks->head_mask(0).copy_(at::tensor(std::vector<float>{0.5f, -0.25f, 2.0f}).view({1, 3, 1, 1}));
    masks->neuron_mask(0).copy_(at::tensor(std::vector<float>{-1.0f, 0.0f}).view({1, 2}));
  }
  auto s = mask_value_scores(masks);
  ASSERT_EQ(s.heads.size(), 1u);
  EXPECT_TRUE(s.heads[0].equal(at::tensor(std::vector<float>{0.5f, -0.25f, 2.0f})));
  EXPECT_TRUE(s.neurons[0].equal(at::tensor(std::vector<float>{-1.0f, 0.0f})));
  // A copy: later training does not change the scores.
  {
    torch::NoGradGuard no_grad;
    masks->head_mask(0).fill_(7.0);
  }
  EXPECT_EQ(s.heads[0][0].item<float>(), 0.5f);
}

// Michel et al.: sum over steps of |dL/dm| (the L1 part removed), each layer L2-normalised.
TEST(FoundationImportance, TaylorAccumulatesAbsTaskGradientNormalisedPerLayer) {
  FoundationMasks masks(std::vector<int64_t>{3, 2}, std::vector<int64_t>{2, 2});
  TaylorImportance taylor(masks);
  const double lambda = 0.01;
  const std::vector<std::vector<float>> task_grads = {{0.3f, -0.4f, 0.0f}, {-0.1f, 0.2f, 0.5f}};
  for (const auto& g : task_grads) {
    for (auto& p : masks->parameters()) p.mutable_grad() = torch::Tensor();
    // A loss whose gradient on layer 0's head mask is g, plus lambda * sum |m|.
    auto gt = at::tensor(g).view({1, 3, 1, 1});
    auto loss = (masks->head_mask(0) * gt).sum() + lambda * masks->l1_penalty();
    loss.backward();
    taylor.accumulate(lambda);
  }
  EXPECT_EQ(taylor.num_accumulated(), 2);
  auto s = taylor.scores();
  // |g1| + |g2| = (0.4, 0.6, 0.5), divided by its norm.
  const double norm = std::sqrt(0.4 * 0.4 + 0.6 * 0.6 + 0.5 * 0.5);
  auto expected = at::tensor(std::vector<double>{0.4 / norm, 0.6 / norm, 0.5 / norm});
  EXPECT_LT(max_abs_diff(s.heads[0], expected), 1e-6);
  // Layers whose task gradient is 0 stay 0 (no division by zero).
  EXPECT_EQ(s.heads[1].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(s.neurons[0].abs().sum().item<float>(), 0.0f);
  EXPECT_NO_THROW(check_foundation_importance("taylor"));
  EXPECT_THROW(check_foundation_importance("magnitude"), Error);
}

}  // namespace
}  // namespace lightpeft
