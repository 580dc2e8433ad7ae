// The LoRA linear in one op: the reference is LoraLinear::forward (bitwise, with dropout, rank 0),
// its module-ratio sink records what ModuleImportance::observe records, the checks; on a GPU the
// fused path against the reference across shapes and ranks (0 included), with and without bias
// and a separate dropout input, fp32, bf16 and bf16 autocast, the importance sums included.
#include <vector>

#include <ATen/autocast_mode.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include "../pruning/pruning_test_util.h"
#include "kernels_test_util.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/lora_linear.h"
#include "lightpeft/peft/lora_linear.h"
#include "lightpeft/pruning/module_importance.h"

namespace lightpeft {
namespace {

using testing::rel_err;

LoraLinear random_lora(int64_t in, int64_t out, int64_t r, double dropout = 0.0, uint64_t seed = 1) {
  torch::manual_seed(seed);
  Dense base(in, out);
  {
    torch::NoGradGuard no_grad;
    base->weight.normal_(0.0, 0.5);
    base->bias.normal_(0.0, 0.5);
  }
  LoraLinear lora(base, r, 2.0 * r, dropout);
  if (r > 0) {
    torch::NoGradGuard no_grad;
    lora->lora_B->weight.normal_(0.0, 0.5);  // B starts at zero: make the update visible
  }
  return lora;
}

TEST(LoraLinearReference, EqualsLoraLinearForwardAndBackward) {
  auto lora = random_lora(7, 5, 3);
  auto x = at::randn({2, 4, 7}).requires_grad_();
  auto dout = at::randn({2, 4, 5});
  const auto &W = lora->base_layer->weight, &b = lora->base_layer->bias;
  const auto &A = lora->lora_A->weight, &B = lora->lora_B->weight;
  auto by_module = lora->forward(x);
  auto by_op = kernels::lora_linear(x, W, b, A, B, lora->scaling());
  EXPECT_TRUE(at::equal(by_module, by_op));
  auto gm = torch::autograd::grad({by_module}, {x, W, b, A, B}, {dout});
  auto go = torch::autograd::grad({by_op}, {x, W, b, A, B}, {dout});
  for (size_t i = 0; i < gm.size(); ++i) EXPECT_TRUE(at::equal(gm[i], go[i])) << i;
}

TEST(LoraLinearReference, DropoutInputAsTheModule) {
  auto lora = random_lora(6, 4, 2, /*dropout=*/0.25);
  lora->train();
  auto x = at::randn({3, 5, 6});
  torch::manual_seed(8);
  auto by_module = lora->forward(x);
  torch::manual_seed(8);
  auto x_lora = lora->lora_dropout->forward(x);
  auto by_op = kernels::lora_linear(x, lora->base_layer->weight, lora->base_layer->bias,
                                    lora->lora_A->weight, lora->lora_B->weight, lora->scaling(),
                                    x_lora);
  EXPECT_TRUE(at::equal(by_module, by_op));
  EXPECT_FALSE(at::equal(x_lora, x));  // dropout did drop something
}

TEST(LoraLinearReference, RankZeroIsTheBaseLinear) {
  auto lora = random_lora(6, 4, 0);
  auto x = at::randn({2, 6});
  auto by_op = kernels::lora_linear(x, lora->base_layer->weight, lora->base_layer->bias, {}, {}, 0.0);
  EXPECT_TRUE(at::equal(lora->forward(x), by_op));
  EXPECT_TRUE(at::equal(at::linear(x, lora->base_layer->weight, lora->base_layer->bias), by_op));
}

// The sink gets exactly what ModuleImportance::observe adds for the same forward.
TEST(LoraLinearReference, RatioSinkRecordsWhatModuleImportanceObserves) {
  auto peft = testing::tiny_lora_model(4);
  ModuleImportance observed(peft, 2), sunk(peft, 2);
  auto mask = at::ones({3, 5}, at::kLong);
  mask.select(0, 2).narrow(0, 2, 3).zero_();
  kernels::ModuleRatioSink sink;
  sunk.begin_step(0, mask);  // step 0 of 2 is not recorded
  EXPECT_FALSE(sunk.ratio_sink(0, at::zeros({1}), sink));
  observed.begin_step(1, mask);
  sunk.begin_step(1, mask);
  for (size_t i : {size_t{0}, size_t{3}}) {
    auto lora = peft.lora(observed.paths()[i]);
    auto x = at::randn({3, 5, lora->in_features()});
    observed.observe(i, lora->base_layer->forward(x), lora->lora_delta(x));
    ASSERT_TRUE(sunk.ratio_sink(i, x, sink));
    auto out = kernels::lora_linear(x, lora->base_layer->weight, lora->base_layer->bias,
                                    lora->lora_A->weight, lora->lora_B->weight, lora->scaling(),
                                    {}, &sink);
    EXPECT_TRUE(at::equal(out, lora->forward(x)));
  }
  observed.end_step();
  sunk.end_step();
  const auto a = observed.scores(), b = sunk.scores();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& kv : a) EXPECT_EQ(kv.second, b.at(kv.first)) << kv.first;
  EXPECT_GT(a.at(observed.paths()[0]), 0.0f);
}

TEST(LoraLinearReference, BadArgumentsAreErrors) {
  auto lora = random_lora(6, 4, 2);
  const auto &W = lora->base_layer->weight, &b = lora->base_layer->bias;
  const auto &A = lora->lora_A->weight, &B = lora->lora_B->weight;
  auto x = at::randn({3, 6});
  EXPECT_THROW(kernels::lora_linear(at::randn({3, 5}), W, b, A, B, 1.0), Error);
  EXPECT_THROW(kernels::lora_linear(x, W, b, A, {}, 1.0), Error);
  EXPECT_THROW(kernels::lora_linear(x, W, b, A.t(), B, 1.0), Error);
  EXPECT_THROW(kernels::lora_linear(x, W, b, A, at::randn({4, 3}), 1.0), Error);
  EXPECT_THROW(kernels::lora_linear(x, W, at::randn({5}), A, B, 1.0), Error);
  EXPECT_THROW(kernels::lora_linear(x, W, b, A, B, 1.0, at::randn({2, 6})), Error);
  kernels::ModuleRatioSink bad{at::ones({3}, at::kBool), at::zeros({1}), at::zeros({1})};
  EXPECT_NO_THROW(kernels::lora_linear(x, W, b, A, B, 1.0, {}, &bad));  // x's 3 tokens: fits
  bad.token_mask = at::ones({2}, at::kBool);
  EXPECT_THROW(kernels::lora_linear(x, W, b, A, B, 1.0, {}, &bad), Error);
  bad.token_mask = at::Tensor();
  bad.ratio_sum = at::zeros({1}, at::kDouble);
  EXPECT_THROW(kernels::lora_linear(x, W, b, A, B, 1.0, {}, &bad), Error);
}

// ---- GPU ---------------------------------------------------------------------------------------

struct LoraShape {
  std::vector<int64_t> lead;  // leading dims of x
  int64_t in, out, r;
};

TEST(LoraLinearKernel, MatchesReferenceOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  const std::vector<LoraShape> shapes = {{{1}, 1, 1, 1},        {{2, 7}, 9, 5, 3},
                                         {{333}, 100, 70, 33},  {{64}, 50, 40, 64},
                                         {{10}, 30, 20, 70},    {{4, 9}, 16, 24, 0},
                                         {{32, 128}, 768, 768, 8}, {{32, 128}, 768, 3072, 8}};
  torch::manual_seed(12);
  for (const auto& s : shapes) {
    for (bool with_bias : {true, false}) {
      for (bool separate_x_lora : {false, true}) {
        if (s.r == 0 && separate_x_lora) continue;  // rank 0 never reads x_lora
        for (auto dtype : {at::kFloat, at::kBFloat16}) {
          SCOPED_TRACE(::testing::Message() << at::IntArrayRef(s.lead) << " in " << s.in << " out "
                                            << s.out << " r " << s.r << " bias " << with_bias
                                            << " x_lora " << separate_x_lora
                                            << (dtype == at::kFloat ? " fp32" : " bf16"));
          auto xs = s.lead;
          xs.push_back(s.in);
          auto ys = s.lead;
          ys.push_back(s.out);
          auto x = testing::bf16_exact_randn(xs, cuda);
          auto xl = separate_x_lora ? testing::bf16_exact_randn(xs, cuda) : at::Tensor();
          auto w = testing::bf16_exact_randn({s.out, s.in}, cuda, 0.1);
          auto b = with_bias ? testing::bf16_exact_randn({s.out}, cuda) : at::Tensor();
          auto A = s.r ? testing::bf16_exact_randn({s.r, s.in}, cuda, 0.1) : at::Tensor();
          auto B = s.r ? testing::bf16_exact_randn({s.out, s.r}, cuda, 0.1) : at::Tensor();
          auto dout = testing::bf16_exact_randn(ys, cuda);
          auto mask = at::rand(s.lead, cuda) > 0.3;
          const double scaling = 2.0;
          auto run = [&](bool fused) {
            auto cast = [&](const at::Tensor& t) {
              return t.defined() ? (fused ? t.to(dtype) : t).detach().requires_grad_() : t;
            };
            auto xi = cast(x), xli = cast(xl), wi = cast(w), bi = cast(b), Ai = cast(A), Bi = cast(B);
            kernels::ModuleRatioSink sink{mask, at::zeros({2}, cuda).select(0, 1),
                                          at::zeros({1}, cuda)};
            auto out = fused ? kernels::lora_linear(xi, wi, bi, Ai, Bi, scaling, xli, &sink)
                             : kernels::reference::lora_linear(xi, wi, bi, Ai, Bi, scaling, xli, &sink);
            std::vector<at::Tensor> inputs;
            for (const auto& t : {xi, xli, wi, bi, Ai, Bi})
              if (t.defined()) inputs.push_back(t);
            auto g = torch::autograd::grad({out}, inputs, {fused ? dout.to(dtype) : dout});
            g.insert(g.begin(), out);
            g.push_back(sink.ratio_sum.clone());
            g.push_back(sink.token_count.clone());
            return g;
          };
          auto ref = run(false), got = run(true);
          ASSERT_EQ(ref.size(), got.size());
          EXPECT_EQ(got[0].scalar_type(), dtype);
          for (size_t i = 0; i < ref.size(); ++i) {
            const bool last_two = i + 2 >= ref.size();  // the importance sums (fp32 in both paths)
            const double tol = dtype == at::kFloat ? (i == 0 || last_two ? testing::kFp32Forward
                                                                         : testing::kFp32Grad)
                                                   : testing::kBf16;
            EXPECT_LT(rel_err(got[i], ref[i]), tol) << "output " << i;
          }
          const double tokens = s.r > 0 ? mask.sum().item<double>() : 0.0;
          EXPECT_EQ(got.back().item<double>(), tokens);
        }
      }
    }
  }
}

TEST(LoraLinearKernel, UnderBf16AutocastMatchesReferenceOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  torch::manual_seed(13);
  auto lora = random_lora(64, 48, 8);
  lora->to(at::kCUDA);
  auto x = at::randn({4, 16, 64}, cuda);
  const auto &W = lora->base_layer->weight, &b = lora->base_layer->bias;
  const auto &A = lora->lora_A->weight, &B = lora->lora_B->weight;
  at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCUDA, true);
  auto got = kernels::lora_linear(x, W, b, A, B, lora->scaling());
  auto want = kernels::reference::lora_linear(x, W, b, A, B, lora->scaling());
  auto dout = at::randn(want.sizes(), cuda).to(at::kBFloat16);
  auto gg = torch::autograd::grad({got}, {A, B}, {dout});
  auto gw = torch::autograd::grad({want}, {A, B}, {dout});
  at::autocast::set_autocast_enabled(at::kCUDA, false);
  at::autocast::clear_cache();
  EXPECT_EQ(got.scalar_type(), at::kBFloat16);
  EXPECT_LT(rel_err(got, want), testing::kBf16);
  EXPECT_EQ(gg[0].scalar_type(), at::kFloat);  // fp32 parameters get fp32 gradients
  EXPECT_LT(rel_err(gg[0], gw[0]), testing::kBf16);
  EXPECT_LT(rel_err(gg[1], gw[1]), testing::kBf16);
}

}  // namespace
}  // namespace lightpeft
