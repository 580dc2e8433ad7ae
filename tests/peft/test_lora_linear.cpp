// LoraLinear and BottleneckAdapter on their own: the forward formula by hand, init as HF PEFT,
// merge/unmerge, per-module rank 0, rank pruning that keeps the scaling, base pruning through
// the wrapper.
#include <cmath>

#include <ATen/ops/allclose.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/peft/bottleneck_adapter.h"
#include "lightpeft/peft/lora_linear.h"
#include "peft_test_util.h"

namespace lightpeft {
namespace {

using testing::max_abs_diff;

Dense random_dense(int64_t in, int64_t out) {
  Dense d(in, out);
  torch::NoGradGuard no_grad;
  d->weight.normal_(0.0, 0.5);
  d->bias.normal_(0.0, 0.5);
  return d;
}

LoraLinear random_lora(int64_t in, int64_t out, int64_t r, double alpha, bool rslora = false) {
  LoraLinear lora(random_dense(in, out), r, alpha, 0.0, rslora);
  torch::NoGradGuard no_grad;
  if (r > 0) lora->lora_B->weight.normal_(0.0, 0.5);  // B starts at zero: make the update visible
  return lora;
}

TEST(LoraLinear, ForwardEqualsFormulaByHand) {
  torch::manual_seed(1);
  auto lora = random_lora(6, 5, 3, 12.0);
  auto x = at::randn({2, 4, 6});
  const auto& W = lora->base_layer->weight;
  const auto& b = lora->base_layer->bias;
  const auto& A = lora->lora_A->weight;
  const auto& B = lora->lora_B->weight;
  auto by_hand = at::matmul(x, W.t()) + b + at::matmul(at::matmul(x, A.t()), B.t()) * (12.0 / 3);
  EXPECT_DOUBLE_EQ(lora->scaling(), 4.0);
  EXPECT_LT(max_abs_diff(lora->forward(x), by_hand), 1e-5);
}

TEST(LoraLinear, RsLoraScalesByAlphaOverSqrtR) {
  auto lora = random_lora(6, 5, 4, 8.0, /*rslora=*/true);
  EXPECT_DOUBLE_EQ(lora->scaling(), 8.0 / 2.0);
  EXPECT_DOUBLE_EQ(lora->effective_alpha(), 8.0);
}

TEST(LoraLinear, InitIsKaimingUniformAAndZeroBAsHfPeft) {
  torch::manual_seed(2);
  const int64_t in = 400;
  LoraLinear lora(random_dense(in, 7), 16, 16.0);
  EXPECT_EQ(lora->lora_A->weight.sizes(), (std::vector<int64_t>{16, in}));
  EXPECT_EQ(lora->lora_B->weight.sizes(), (std::vector<int64_t>{7, 16}));
  EXPECT_FALSE(lora->lora_A->bias.defined());
  EXPECT_EQ(lora->lora_B->weight.abs().sum().item<double>(), 0.0);
  // kaiming_uniform(a = sqrt 5) on (r, in) is U(-1/sqrt(in), 1/sqrt(in)).
  const double bound = 1.0 / std::sqrt(static_cast<double>(in));
  EXPECT_LE(lora->lora_A->weight.abs().max().item<double>(), bound);
  EXPECT_GT(lora->lora_A->weight.abs().max().item<double>(), 0.9 * bound);
  // A fresh LoRA layer computes exactly the base.
  auto x = at::randn({3, in});
  EXPECT_TRUE(at::equal(lora->forward(x), lora->base_layer->forward(x)));
}

TEST(LoraLinear, KeysAreHfPeftNames) {
  auto lora = random_lora(4, 3, 2, 4.0);
  std::vector<std::string> keys;
  for (const auto& p : lora->named_parameters()) keys.push_back(p.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"base_layer.weight", "base_layer.bias", "lora_A.weight",
                                            "lora_B.weight"}));
}

TEST(LoraLinear, MergedEqualsUnmerged) {
  torch::manual_seed(3);
  auto lora = random_lora(8, 6, 4, 16.0);
  auto x = at::randn({5, 8});
  auto before = lora->forward(x);
  auto w0 = lora->base_layer->weight.clone();
  lora->merge();
  EXPECT_TRUE(lora->merged());
  EXPECT_LT(max_abs_diff(lora->forward(x), before), 1e-5);
  EXPECT_GT(max_abs_diff(lora->base_layer->weight, w0), 1e-3);  // the update is in W now
  EXPECT_THROW(lora->merge(), Error);
  lora->unmerge();
  EXPECT_LT(max_abs_diff(lora->forward(x), before), 1e-5);
  EXPECT_LT(max_abs_diff(lora->base_layer->weight, w0), 1e-6);
  EXPECT_THROW(lora->unmerge(), Error);
}

TEST(LoraLinear, RankZeroIsTheBaseOnly) {
  LoraLinear lora(random_dense(5, 4), 0, 16.0);
  EXPECT_EQ(lora->r(), 0);
  EXPECT_FALSE(lora->lora_A);
  EXPECT_EQ(lora->named_parameters().size(), 2u);  // base weight and bias only
  auto x = at::randn({2, 5});
  EXPECT_TRUE(at::equal(lora->forward(x), lora->base_layer->forward(x)));
  lora->merge();
  lora->unmerge();
  EXPECT_TRUE(at::equal(lora->forward(x), lora->base_layer->forward(x)));
}

TEST(LoraLinear, KeepRanksKeepsTheScalingAndTheKeptTerms) {
  torch::manual_seed(4);
  auto lora = random_lora(6, 5, 4, 16.0);
  const double scaling = lora->scaling();
  auto A = lora->lora_A->weight.clone();
  auto B = lora->lora_B->weight.clone();
  auto a_param = lora->lora_A->weight;  // the same parameter object survives the slicing
  lora->keep_ranks({3, 1});
  EXPECT_EQ(lora->r(), 2);
  EXPECT_DOUBLE_EQ(lora->scaling(), scaling);  // alpha / r_original, not alpha / 2
  EXPECT_DOUBLE_EQ(lora->effective_alpha(), scaling * 2);
  EXPECT_TRUE(lora->lora_A->weight.is_same(a_param));
  auto idx = at::tensor(std::vector<int64_t>{3, 1});
  auto x = at::randn({3, 6});
  auto expected = lora->base_layer->forward(x) +
                  at::matmul(at::matmul(x, A.index_select(0, idx).t()), B.index_select(1, idx).t()) *
                      scaling;
  EXPECT_LT(max_abs_diff(lora->forward(x), expected), 1e-5);
  EXPECT_THROW(lora->keep_ranks({2}), Error);      // out of range now
  EXPECT_THROW(lora->keep_ranks({0, 0}), Error);   // twice
  lora->keep_ranks({});
  EXPECT_EQ(lora->r(), 0);
  EXPECT_TRUE(at::equal(lora->forward(x), lora->base_layer->forward(x)));
  EXPECT_EQ(lora->named_parameters().size(), 2u);
}

TEST(LoraLinear, PruneOutputAndInputSliceBaseAndLoraConsistently) {
  torch::manual_seed(5);
  auto lora = random_lora(8, 6, 3, 6.0);
  auto x = at::randn({4, 8});
  auto full = lora->forward(x);
  auto rows = at::tensor(std::vector<int64_t>{0, 2, 5});
  lora->prune_output(rows);
  EXPECT_EQ(lora->out_features(), 3);
  EXPECT_EQ(lora->lora_B->weight.size(0), 3);
  EXPECT_LT(max_abs_diff(lora->forward(x), full.index_select(1, rows)), 1e-5);

  // Input columns: zeroing the dropped inputs of x gives the same as slicing them away.
  auto cols = at::tensor(std::vector<int64_t>{1, 3, 4, 7});
  auto x_masked = at::zeros_like(x);
  x_masked.index_copy_(1, cols, x.index_select(1, cols));
  auto masked = lora->forward(x_masked);
  lora->prune_input(cols);
  EXPECT_EQ(lora->in_features(), 4);
  EXPECT_EQ(lora->lora_A->weight.size(1), 4);
  EXPECT_LT(max_abs_diff(lora->forward(x.index_select(1, cols)), masked), 1e-5);
}

TEST(BottleneckAdapter, ForwardEqualsFormulaByHand) {
  torch::manual_seed(6);
  AdapterOptions opt;
  opt.dropout = 0.0;
  opt.scaling = 0.5;
  BottleneckAdapter adapter(random_dense(6, 5), 3, opt);
  EXPECT_EQ(adapter->adapter_down->weight.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(adapter->adapter_up->weight.sizes(), (std::vector<int64_t>{5, 3}));
  auto x = at::randn({2, 6});
  auto y = adapter->base_layer->forward(x);
  auto by_hand = y + at::matmul(at::relu(at::matmul(y, adapter->adapter_down->weight.t())),
                                adapter->adapter_up->weight.t()) *
                         0.5;
  EXPECT_LT(max_abs_diff(adapter->forward(x), by_hand), 1e-6);
  // "bert" init: N(0, 0.02) for both projections.
  BottleneckAdapter big(random_dense(64, 300), 64, opt);
  EXPECT_NEAR(big->adapter_up->weight.std().item<double>(), 0.02, 0.002);
  EXPECT_NEAR(big->adapter_down->weight.std().item<double>(), 0.02, 0.002);
}

TEST(BottleneckAdapter, ZeroUpInitStartsAsTheBase) {
  AdapterOptions opt;
  opt.init_weights = "zero_up";
  BottleneckAdapter adapter(random_dense(6, 5), 4, opt);
  adapter->eval();
  auto x = at::randn({2, 6});
  EXPECT_TRUE(at::equal(adapter->forward(x), adapter->base_layer->forward(x)));
  opt.init_weights = "xavier";
  EXPECT_THROW(BottleneckAdapter(random_dense(6, 5), 4, opt), Error);
}

TEST(BottleneckAdapter, WidthPrunesLikeLoraRanks) {
  torch::manual_seed(7);
  AdapterOptions opt;
  opt.dropout = 0.0;
  BottleneckAdapter adapter(random_dense(6, 5), 4, opt);
  auto down = adapter->adapter_down->weight.clone();
  auto up = adapter->adapter_up->weight.clone();
  adapter->keep_ranks({0, 2});
  EXPECT_EQ(adapter->bottleneck_size(), 2);
  auto idx = at::tensor(std::vector<int64_t>{0, 2});
  EXPECT_TRUE(at::equal(adapter->adapter_down->weight, down.index_select(0, idx)));
  EXPECT_TRUE(at::equal(adapter->adapter_up->weight, up.index_select(1, idx)));
  adapter->keep_ranks({});
  auto x = at::randn({2, 6});
  EXPECT_TRUE(at::equal(adapter->forward(x), adapter->base_layer->forward(x)));
}

TEST(BottleneckAdapter, InputPruningTouchesOnlyTheBase) {
  BottleneckAdapter adapter(random_dense(6, 5), 3);
  adapter->prune(at::tensor(std::vector<int64_t>{0, 1, 2}), 1);
  EXPECT_EQ(adapter->in_features(), 3);
  EXPECT_EQ(adapter->adapter_down->weight.size(1), 5);
}

}  // namespace
}  // namespace lightpeft
