// The linear over kept-index lists: the reference equals Dense::prune + forward (bitwise) and the
// linears apply_plan leaves behind; index checks; empty lists; on a GPU the gather GEMM against the
// reference (forward, input, weight and bias gradients; fp32, bf16, autocast; odd sizes).
#include <algorithm>
#include <vector>

#include <ATen/autocast_mode.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randperm.h>
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include "../pruning/pruning_test_util.h"
#include "kernels_test_util.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/pruned_linear.h"
#include "lightpeft/pruning/apply_plan.h"
#include "test_support.h"

namespace lightpeft {
namespace {

using kernels::KeptIndex;
using testing::rel_err;

Dense random_dense(int64_t in, int64_t out, uint64_t seed) {
  torch::manual_seed(seed);
  Dense d(in, out);
  torch::NoGradGuard no_grad;
  d->weight.normal_(0.0, 0.5);
  d->bias.normal_(0.0, 0.5);
  return d;
}

// Sorted random subset of [0, n) of size k.
at::Tensor kept_subset(int64_t n, int64_t k, const at::TensorOptions& options = {}) {
  auto idx = std::get<0>(at::randperm(n, at::kLong).narrow(0, 0, k).sort());
  return idx.to(options.device());
}

struct Case {
  bool rows, cols;
};

TEST(PrunedLinearReference, EqualsDensePruneForwardAndBackward) {
  const at::Tensor rows = at::tensor(std::vector<int64_t>{0, 3, 4, 7}, at::kLong);
  const at::Tensor cols = at::tensor(std::vector<int64_t>{1, 2, 5, 6, 9}, at::kLong);
  for (Case c : {Case{true, false}, Case{false, true}, Case{true, true}, Case{false, false}}) {
    SCOPED_TRACE(::testing::Message() << "rows " << c.rows << " cols " << c.cols);
    auto full = random_dense(10, 8, 1);
    auto pruned = random_dense(10, 8, 1);
    if (c.rows) pruned->prune(rows, 0);
    if (c.cols) pruned->prune(cols, 1);
    const KeptIndex ri = c.rows ? KeptIndex(rows, 8, at::kCPU) : KeptIndex();
    const KeptIndex ci = c.cols ? KeptIndex(cols, 10, at::kCPU) : KeptIndex();
    auto x = at::randn({3, 2, ci.size_or(10)}).requires_grad_();
    auto by_dense = pruned->forward(x);
    auto by_op = kernels::pruned_linear(x, full->weight, full->bias, ri, ci);
    EXPECT_TRUE(at::equal(by_dense, by_op));
    auto dout = at::randn(by_op.sizes());
    auto gd = torch::autograd::grad({by_dense}, {x, pruned->weight, pruned->bias}, {dout});
    auto go = torch::autograd::grad({by_op}, {x, full->weight, full->bias}, {dout});
    EXPECT_TRUE(at::equal(gd[0], go[0]));
    // The full weight's gradient is the pruned one's, scattered; zero elsewhere.
    auto gw = go[1], gb = go[2];
    if (c.rows) gw = at::index_select(gw, 0, rows), gb = at::index_select(gb, 0, rows);
    if (c.cols) gw = at::index_select(gw, 1, cols);
    EXPECT_TRUE(at::equal(gw, gd[1]));
    EXPECT_TRUE(at::equal(gb, gd[2]));
    EXPECT_NEAR(go[1].abs().sum().item<double>(), gd[1].abs().sum().item<double>(), 1e-4);
  }
}

// apply_plan slices every base linear of the model; the op over the plan's index lists, reading
// the unpruned weights, computes what each sliced linear computes.
TEST(PrunedLinearReference, EqualsTheLinearsApplyPlanLeaves) {
  auto original = testing::tiny_lora_model(5);
  auto pruned = testing::tiny_lora_model(5);
  PruningPlan plan;
  const std::vector<std::vector<int64_t>> heads = {{0, 2}, {1, 2, 3}};
  const std::vector<std::vector<int64_t>> neurons = {{1, 2, 3, 6, 7, 8, 9, 10}, {0, 11}};
  for (size_t l = 0; l < heads.size(); ++l) {
    LayerDecision d;
    d.heads.scores.assign(4, 0.0f);
    d.heads.kept = heads[l];
    d.neurons.scores.assign(12, 0.0f);
    d.neurons.kept = neurons[l];
    plan.layers.push_back(d);
  }
  for (const auto& path : pruned.injected_paths()) {  // every module keeps all its ranks
    ModuleDecision m;
    m.path = path;
    m.rank_scores.assign(4, 0.0f);
    m.kept_ranks = {0, 1, 2, 3};
    plan.modules.push_back(m);
  }
  apply_plan(pruned, plan);

  for (size_t l = 0; l < heads.size(); ++l) {
    std::vector<int64_t> head_rows;
    for (int64_t h : heads[l])
      for (int64_t i = 0; i < 4; ++i) head_rows.push_back(h * 4 + i);
    const auto hr = at::tensor(head_rows, at::kLong), nr = at::tensor(neurons[l], at::kLong);
    const std::string prefix = "bert.encoder.layer." + std::to_string(l) + ".";
    struct Slot {
      std::string name;
      at::Tensor rows, cols;
    };
    const std::vector<Slot> slots = {{"attention.self.query", hr, {}},
                                     {"attention.self.key", hr, {}},
                                     {"attention.self.value", hr, {}},
                                     {"attention.output.dense", {}, hr},
                                     {"intermediate.dense", nr, {}},
                                     {"output.dense", {}, nr}};
    for (const auto& s : slots) {
      SCOPED_TRACE(prefix + s.name);
      const auto& full = original.lora(prefix + s.name)->base_layer;
      const auto& sliced = pruned.lora(prefix + s.name)->base_layer;
      auto x = at::randn({2, 3, sliced->in_features()});
      EXPECT_TRUE(at::equal(kernels::pruned_linear(x, full->weight, full->bias, s.rows, s.cols),
                            at::linear(x, sliced->weight, sliced->bias)));
    }
  }
}

TEST(PrunedLinearReference, EmptyIndexLists) {
  auto d = random_dense(6, 5, 2);
  auto none = at::tensor(std::vector<int64_t>{}, at::kLong);
  auto x = at::randn({4, 6});
  EXPECT_EQ(kernels::pruned_linear(x, d->weight, d->bias, none, at::Tensor()).sizes(),
            (std::vector<int64_t>{4, 0}));
  // No input column kept: the output is the bias alone.
  auto out = kernels::pruned_linear(at::randn({4, 0}), d->weight, d->bias, at::Tensor(), none);
  EXPECT_TRUE(at::equal(out, d->bias.expand({4, 5})));
}

TEST(PrunedLinearReference, IndexChecks) {
  auto d = random_dense(6, 5, 3);
  auto x = at::randn({2, 6});
  auto idx = [](std::vector<int64_t> v) { return at::tensor(v, at::kLong); };
  try {
    kernels::pruned_linear(x, d->weight, d->bias, idx({0, 5}), at::Tensor());
    FAIL() << "expected lightpeft::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(testing::contains(e.what(), "row_index: index 5 at position 1 is out of range [0, 5)"))
        << e.what();
  }
  EXPECT_THROW(kernels::pruned_linear(x, d->weight, d->bias, idx({-1}), at::Tensor()), Error);
  EXPECT_THROW(kernels::pruned_linear(x, d->weight, d->bias, idx({0, 1}).view({1, 2}), at::Tensor()), Error);
  EXPECT_THROW(kernels::pruned_linear(x, d->weight, d->bias, at::randn({2}), at::Tensor()), Error);
  // x must have the kept number of input features.
  EXPECT_THROW(kernels::pruned_linear(x, d->weight, d->bias, at::Tensor(), idx({0, 1})), Error);
  // A KeptIndex checked against another extent, a bias of the wrong size.
  EXPECT_THROW(kernels::pruned_linear(x, d->weight, d->bias, KeptIndex(idx({0}), 7, at::kCPU),
                                      KeptIndex()),
               Error);
  EXPECT_THROW(kernels::pruned_linear(x, d->weight, at::randn({4}), at::Tensor(), at::Tensor()),
               Error);
}

// ---- GPU ---------------------------------------------------------------------------------------

struct GemmShape {
  int64_t tokens, out, in, kept_out, kept_in;  // kept = -1: no index list
};

TEST(PrunedLinearKernel, MatchesReferenceOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  const std::vector<GemmShape> shapes = {{1, 1, 1, 1, -1},        {5, 7, 9, 3, 4},
                                         {130, 300, 200, 201, -1}, {77, 65, 130, -1, 63},
                                         {64, 64, 64, 64, 64},     {4096, 3072, 768, 2048, -1},
                                         {4096, 768, 3072, -1, 2048}};
  torch::manual_seed(9);
  for (const auto& s : shapes) {
    for (bool with_bias : {true, false}) {
      for (auto dtype : {at::kFloat, at::kBFloat16}) {
        SCOPED_TRACE(::testing::Message() << s.tokens << "x" << s.out << "x" << s.in << " kept "
                                          << s.kept_out << "/" << s.kept_in << " bias "
                                          << with_bias << (dtype == at::kFloat ? " fp32" : " bf16"));
        const KeptIndex rows = s.kept_out < 0 ? KeptIndex()
                                              : KeptIndex(kept_subset(s.out, s.kept_out), s.out, at::kCUDA);
        const KeptIndex cols = s.kept_in < 0 ? KeptIndex()
                                             : KeptIndex(kept_subset(s.in, s.kept_in), s.in, at::kCUDA);
        auto w = testing::bf16_exact_randn({s.out, s.in}, cuda, 0.1);
        auto b = with_bias ? testing::bf16_exact_randn({s.out}, cuda) : at::Tensor();
        auto x = testing::bf16_exact_randn({s.tokens, cols.size_or(s.in)}, cuda);
        auto dout = testing::bf16_exact_randn({s.tokens, rows.size_or(s.out)}, cuda);
        auto run = [&](bool fused) {
          auto cast = [&](const at::Tensor& t) {
            return t.defined() ? (fused ? t.to(dtype) : t).detach().requires_grad_() : t;
          };
          auto xi = cast(x), wi = cast(w), bi = cast(b);
          auto out = fused ? kernels::pruned_linear(xi, wi, bi, rows, cols)
                           : kernels::reference::pruned_linear(xi, wi, bi, rows, cols);
          std::vector<at::Tensor> inputs{xi, wi};
          if (bi.defined()) inputs.push_back(bi);
          auto g = torch::autograd::grad({out}, inputs, {fused ? dout.to(dtype) : dout});
          g.insert(g.begin(), out);
          return g;
        };
        auto ref = run(false), got = run(true);
        const char* names[] = {"out", "dx", "dW", "db"};
        for (size_t i = 0; i < ref.size(); ++i)
          EXPECT_LT(rel_err(got[i], ref[i]),
                    dtype == at::kFloat ? (i == 0 ? testing::kFp32Forward : testing::kFp32Grad)
                                        : testing::kBf16)
              << names[i];
      }
    }
  }
}

TEST(PrunedLinearKernel, UnderBf16AutocastMatchesReferenceOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  torch::manual_seed(10);
  auto w = at::randn({96, 80}, cuda) * 0.1, b = at::randn({96}, cuda);
  auto x = at::randn({33, 50}, cuda);
  const KeptIndex rows(kept_subset(96, 40), 96, at::kCUDA), cols(kept_subset(80, 50), 80, at::kCUDA);
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  auto got = kernels::pruned_linear(x, w, b, rows, cols);
  auto want = kernels::reference::pruned_linear(x, w, b, rows, cols);
  at::autocast::set_autocast_enabled(at::kCUDA, false);
  at::autocast::clear_cache();
  EXPECT_EQ(got.scalar_type(), at::kBFloat16);
  EXPECT_EQ(want.scalar_type(), at::kBFloat16);
  EXPECT_LT(rel_err(got, want), testing::kBf16);
}

}  // namespace
}  // namespace lightpeft
