// Rank Taylor importance accumulated in place: the reference is rank_taylor_scores (what
// RankImportance records), missing gradients count 0, the checks; on a GPU the one-launch kernel
// against it, fp32 and bf16, odd sizes.
#include <vector>

#include <ATen/ops/equal.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "kernels_test_util.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/importance.h"
#include "lightpeft/pruning/rank_importance.h"

namespace lightpeft {
namespace {

using testing::rel_err;

// A (r, in) and B (out, r) parameters with gradients.
std::pair<at::Tensor, at::Tensor> weights_with_grads(int64_t r, int64_t in, int64_t out,
                                                     const at::TensorOptions& options = {},
                                                     bool grad_a = true, bool grad_b = true) {
  auto A = testing::bf16_exact_randn({r, in}, options).to(options).requires_grad_();
  auto B = testing::bf16_exact_randn({out, r}, options).to(options).requires_grad_();
  if (grad_a) A.mutable_grad() = testing::bf16_exact_randn({r, in}, options).to(options);
  if (grad_b) B.mutable_grad() = testing::bf16_exact_randn({out, r}, options).to(options);
  return {A, B};
}

TEST(RankTaylorReference, AccumulatesRankTaylorScores) {
  torch::manual_seed(1);
  auto [A, B] = weights_with_grads(3, 5, 4);
  auto sum = at::zeros({3});
  kernels::rank_taylor_accumulate(A, B, sum);
  EXPECT_TRUE(at::equal(sum, rank_taylor_scores(A, B)));
  kernels::rank_taylor_accumulate(A, B, sum);
  EXPECT_TRUE(at::equal(sum, rank_taylor_scores(A, B) * 2));
  // By hand for rank 1: |mean_j A[1,j] gA[1,j]| + |mean_k B[k,1] gB[k,1]|.
  const double by_hand = std::abs((A[1] * A.grad()[1]).mean().item<double>()) +
                         std::abs((B.select(1, 1) * B.grad().select(1, 1)).mean().item<double>());
  EXPECT_NEAR(sum[1].item<double>(), 2 * by_hand, 1e-6);
}

TEST(RankTaylorReference, MissingGradientsCountZero) {
  torch::manual_seed(2);
  auto [A, B] = weights_with_grads(2, 6, 3, {}, /*grad_a=*/false, /*grad_b=*/true);
  auto sum = at::zeros({2});
  kernels::rank_taylor_accumulate(A, B, sum);
  EXPECT_TRUE(at::equal(sum, (B.detach() * B.grad()).mean(0).abs()));
}

TEST(RankTaylorReference, BadArgumentsAreErrors) {
  auto [A, B] = weights_with_grads(3, 5, 4);
  EXPECT_THROW(kernels::rank_taylor_accumulate(A, B.t(), at::zeros({3})), Error);
  EXPECT_THROW(kernels::rank_taylor_accumulate(A, B, at::zeros({4})), Error);
  EXPECT_THROW(kernels::rank_taylor_accumulate(A, B, at::zeros({3}, at::kDouble)), Error);
  EXPECT_THROW(kernels::rank_taylor_accumulate(A, B, at::Tensor()), Error);
}

TEST(RankTaylorKernel, MatchesReferenceOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  struct Shape {
    int64_t r, in, out;
  };
  const std::vector<Shape> shapes = {{1, 1, 1}, {3, 7, 5}, {8, 768, 768}, {8, 768, 3072},
                                     {33, 1000, 17}, {64, 3072, 768}};
  torch::manual_seed(4);
  for (const auto& s : shapes) {
    for (auto dtype : {at::kFloat, at::kBFloat16}) {
      for (int missing = 0; missing < 3; ++missing) {  // none, A's, B's gradient missing
        SCOPED_TRACE(::testing::Message() << "r " << s.r << " in " << s.in << " out " << s.out
                                          << " missing " << missing
                                          << (dtype == at::kFloat ? " fp32" : " bf16"));
        const auto options = at::TensorOptions().device(at::kCUDA).dtype(dtype);
        auto [A, B] = weights_with_grads(s.r, s.in, s.out, options, missing != 1, missing != 2);
        auto start = at::randn({s.r}, options.dtype(at::kFloat)).abs();
        auto got = start.clone(), want = start.clone();
        kernels::rank_taylor_accumulate(A, B, got);
        kernels::reference::rank_taylor_accumulate(A, B, want);
        // bf16: the reference rounds each product to bf16 before the mean, the kernel does not.
        EXPECT_LT(rel_err(got - start, want - start),
                  dtype == at::kFloat ? testing::kFp32Grad : testing::kBf16);
      }
    }
  }
}

}  // namespace
}  // namespace lightpeft
