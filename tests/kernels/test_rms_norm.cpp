// kernels::rms_norm, the one-pass CPU RMSNorm (kernels/rms_norm.h), against HF's composite
// (kernels::reference::rms_norm, the formula of LlamaRMSNorm): outputs, the input's and the
// weight's gradients (by autograd through the composite), a bf16 weight, non-contiguous input,
// rows of odd width (the vector loops' tails), independence of the weight gradient from the thread
// count, no graph under NoGradGuard, the composite for bf16 activations, and a bad weight refused.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/rms_norm.h"
#include "lightpeft/models/norms.h"

namespace lightpeft::kernels {
namespace {

struct Grads {
  at::Tensor y, dx, dw;
};

// Output and gradients of sum(y * probe) through `norm`.
template <typename Norm>
Grads run(Norm norm, const at::Tensor& x0, const at::Tensor& w0, const at::Tensor& probe, bool train_weight = true) {
  at::Tensor x = x0.detach().clone().requires_grad_(true);
  at::Tensor w = w0.detach().clone().requires_grad_(train_weight);
  at::Tensor y = norm(x, w, 1e-5);
  (y * probe).sum().backward();
  return {y.detach(), x.grad(), train_weight ? w.grad() : at::Tensor()};
}

void expect_close(const at::Tensor& a, const at::Tensor& b, double rtol, double atol, const char* what) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  ASSERT_EQ(a.scalar_type(), b.scalar_type()) << what;
  EXPECT_TRUE(at::allclose(a, b, rtol, atol)) << what << ": max |diff| " << (a - b).abs().max().item<double>();
}

TEST(RmsNorm, OutputAndGradientsEqualHfsCompositeToFloatRounding) {
  at::manual_seed(3);
  // 577 columns: the 16-wide loops' tails; 3 x 45 rows: more than one block of 64 rows.
  for (const int64_t width : {576, 577, 7}) {
    const at::Tensor x = at::randn({3, 45, width}) * 3, w = at::randn({width}), probe = at::randn({3, 45, width});
    const Grads fused = run(rms_norm, x, w, probe), ref = run(reference::rms_norm, x, w, probe);
    expect_close(fused.y, ref.y, 1e-5, 1e-6, "y");
    expect_close(fused.dx, ref.dx, 1e-4, 1e-5, "dx");
    expect_close(fused.dw, ref.dw, 1e-4, 1e-4, "dw");
  }
}

TEST(RmsNorm, Bf16WeightGivesAFloatOutputAndABf16Gradient) {
  at::manual_seed(4);
  const at::Tensor x = at::randn({4, 64}), w = at::randn({64}).to(at::kBFloat16), probe = at::randn({4, 64});
  const Grads fused = run(rms_norm, x, w, probe), ref = run(reference::rms_norm, x, w, probe);
  EXPECT_EQ(fused.y.scalar_type(), at::kFloat);
  EXPECT_EQ(fused.dw.scalar_type(), at::kBFloat16);
  expect_close(fused.y, ref.y, 1e-5, 1e-6, "y");
  expect_close(fused.dx, ref.dx, 1e-4, 1e-5, "dx");
  expect_close(fused.dw.to(at::kFloat), ref.dw.to(at::kFloat), 1e-2, 1e-2, "dw (bf16)");
}

TEST(RmsNorm, FrozenWeightGetsNoGradientAndTheInputsDoesNotChange) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({10, 32}), w = at::randn({32}), probe = at::randn({10, 32});
  const Grads frozen = run(rms_norm, x, w, probe, /*train_weight=*/false);
  const Grads ref = run(reference::rms_norm, x, w, probe, /*train_weight=*/false);
  EXPECT_FALSE(frozen.dw.defined());
  expect_close(frozen.dx, ref.dx, 1e-4, 1e-5, "dx");
}

TEST(RmsNorm, NonContiguousInput) {
  at::manual_seed(6);
  const at::Tensor x = at::randn({32, 10}).t(), w = at::randn({32});  // (10, 32), strides (1, 10)
  ASSERT_FALSE(x.is_contiguous());
  expect_close(rms_norm(x, w, 1e-6), reference::rms_norm(x, w, 1e-6), 1e-5, 1e-6, "y");
}

TEST(RmsNorm, WeightGradientDoesNotDependOnTheThreadCount) {
  at::manual_seed(7);
  const at::Tensor x = at::randn({300, 48}), w = at::randn({48}), probe = at::randn({300, 48});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const Grads one = run(rms_norm, x, w, probe);
  at::set_num_threads(2);
  const Grads two = run(rms_norm, x, w, probe);
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(one.dw, two.dw));
  EXPECT_TRUE(at::equal(one.dx, two.dx));
  EXPECT_TRUE(at::equal(one.y, two.y));
}

TEST(RmsNorm, NoGraphWithoutGradAndTheCompositeForBf16Activations) {
  at::manual_seed(8);
  const at::Tensor x = at::randn({5, 16}).requires_grad_(true), w = at::randn({16});
  {
    at::NoGradGuard no_grad;
    const at::Tensor y = rms_norm(x, w, 1e-6);
    EXPECT_FALSE(y.requires_grad());
    expect_close(y, reference::rms_norm(x.detach(), w, 1e-6), 1e-5, 1e-6, "y without a graph");
  }
  const at::Tensor xb = x.detach().to(at::kBFloat16);
  EXPECT_TRUE(at::equal(rms_norm(xb, w, 1e-6), reference::rms_norm(xb, w, 1e-6)));
}

TEST(RmsNorm, TheModuleIsTheKernel) {
  at::manual_seed(9);
  RmsNorm norm(24, 1e-6);
  norm->weight.data().normal_();
  const at::Tensor x = at::randn({2, 3, 24});
  EXPECT_TRUE(at::equal(norm->forward(x), rms_norm(x, norm->weight, 1e-6)));
}

TEST(RmsNorm, AWeightThatDoesNotFitIsRefused) {
  try {
    (void)rms_norm(at::randn({2, 8}), at::randn({7}), 1e-6);
    FAIL() << "expected lightpeft::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rms_norm: weight of shape [7] does not fit x of shape [2, 8] (expected (8))"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lightpeft::kernels
