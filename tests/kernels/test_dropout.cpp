// kernels::dropout, the CPU dropout with a Philox keep-mask (kernels/dropout.h): the generator
// against Random123's known answers, the keep rate and scaling, seeding through the default
// generator (manual_seed and a saved generator state reproduce a mask), independence from the
// thread count, the gradient, eval/p = 0/p = 1, bf16, and bad probabilities refused.
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/dropout.h"
#include "lightpeft/kernels/philox.h"
#include "lightpeft/models/dropout.h"

namespace lightpeft::kernels {
namespace {

TEST(Philox, MatchesRandom123KnownAnswers) {
  // Random123 kat_vectors, philox4x32 with 10 rounds: counter, key -> output.
  using W = std::array<uint32_t, 4>;
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}), (W{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u}));
  EXPECT_EQ(philox4x32_10({0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, {0xffffffffu, 0xffffffffu}),
            (W{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu}));
  EXPECT_EQ(philox4x32_10({0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}, {0xa4093822u, 0x299f31d0u}),
            (W{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u}));
}

TEST(Dropout, KeepsOneMinusPOfTheElementsScaledByItsInverse) {
  const int64_t n = 1 << 20;
  for (const double p : {0.05, 0.1, 0.5}) {
    const at::Tensor x = at::ones({n});
    const at::Tensor y = kernels::dropout(x, p, /*training=*/true);
    const at::Tensor kept = y.ne(0);
    const double rate = kept.to(at::kDouble).mean().item<double>();
    const double sd = std::sqrt(p * (1 - p) / static_cast<double>(n));
    EXPECT_NEAR(rate, 1 - p, 6 * sd) << p;
    EXPECT_TRUE(at::allclose(y.masked_select(kept), at::full({1}, 1.0 / (1 - p)))) << p;
    // Neighbouring elements are independent: pairs kept together at the rate of two draws.
    const double both = (kept.slice(0, 0, n - 1) & kept.slice(0, 1, n)).to(at::kDouble).mean().item<double>();
    EXPECT_NEAR(both, (1 - p) * (1 - p), 6 * std::sqrt((1 - p) * (1 - p) / static_cast<double>(n))) << p;
  }
}

TEST(Dropout, SeedsFromTheDefaultGeneratorSoSeedsAndSavedStatesReproduceTheMask) {
  const at::Tensor x = at::randn({7, 33});
  torch::manual_seed(11);
  const at::Tensor a = kernels::dropout(x, 0.3, true), b = kernels::dropout(x, 0.3, true);
  EXPECT_FALSE(at::equal(a, b));  // each call takes a new seed
  torch::manual_seed(11);
  EXPECT_TRUE(at::equal(kernels::dropout(x, 0.3, true), a));
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  const at::Tensor state = gen.get_state();
  const at::Tensor c = kernels::dropout(x, 0.3, true);
  gen.set_state(state);  // what resume and gradient checkpointing's replay do
  EXPECT_TRUE(at::equal(kernels::dropout(x, 0.3, true), c));
}

TEST(Dropout, EveryElementIsItsOwnPhiloxWordAgainstTheThreshold) {
  // The mask is computed 16 Philox blocks at a time (AVX-512 where the CPU has it); each element
  // must still be the scalar generator's word i % 4 of block i / 4, the tail included.
  const int64_t n = 64 * 37 + 13;
  const uint64_t seed = 0x0123456789abcdefull;
  const double p = 0.3;
  const at::Tensor mask = dropout_mask(at::empty({n}), p, seed);
  const auto* m = mask.const_data_ptr<float>();
  const auto threshold = static_cast<uint64_t>(std::ldexp(1.0 - p, 32));
  int64_t mismatches = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto words = philox4x32_10({static_cast<uint32_t>(i / 4), 0, 0, 0},
                                     {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
    mismatches += (words[i % 4] < threshold) != (m[i] != 0.0f);
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Dropout, TheMaskDoesNotDependOnTheThreadCount) {
  const at::Tensor like = at::empty({3, 100003});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const at::Tensor one = dropout_mask(like, 0.1, 1234567);
  at::set_num_threads(2);
  const at::Tensor two = dropout_mask(like, 0.1, 1234567);
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(one, two));
  EXPECT_FALSE(at::equal(one, dropout_mask(like, 0.1, 1234568)));
}

uint64_t next_seed() {
  return at::check_generator<at::CPUGeneratorImpl>(at::detail::getDefaultCPUGenerator())->random64();
}

TEST(Dropout, GradientIsTheSameMaskAndScale) {
  const at::Tensor x = at::randn({4, 50}).requires_grad_(true);
  const at::Tensor upstream = at::randn({4, 50});
  torch::manual_seed(3);
  const at::Tensor y = kernels::dropout(x, 0.25, true);
  y.backward(upstream);
  torch::manual_seed(3);
  const at::Tensor mask = dropout_mask(x, 0.25, next_seed());
  EXPECT_TRUE(at::equal(x.grad(), upstream * mask));
  EXPECT_TRUE(at::equal(y, x.detach() * mask));
}

TEST(Dropout, OnePassEqualsTheInputTimesItsMaskBitForBitWithOrWithoutAGraph) {
  // The fused pass (and its byte mask) must give what x * dropout_mask gives, in every dtype, for
  // strided inputs, with a graph (mask kept for the backward) and without one.
  for (const auto dtype : {at::kFloat, at::kBFloat16, at::kDouble}) {
    const at::Tensor base = at::randn({37, 129}).to(dtype);
    for (const at::Tensor& x : {base, base.t()}) {
      torch::manual_seed(5);
      const at::Tensor with_graph = kernels::dropout(x.detach().requires_grad_(true), 0.1, true);
      torch::manual_seed(5);
      at::Tensor without;
      {
        at::NoGradGuard no_grad;
        without = kernels::dropout(x, 0.1, true);
      }
      torch::manual_seed(5);
      const at::Tensor expected = x * dropout_mask(x, 0.1, next_seed());
      EXPECT_TRUE(at::equal(with_graph.detach(), expected)) << dtype;
      EXPECT_TRUE(at::equal(without, expected)) << dtype;
      EXPECT_EQ(with_graph.scalar_type(), dtype);
    }
  }
}

TEST(Dropout, IdentityInEvalAndAtZeroZerosAtOneBf16Works) {
  const at::Tensor x = at::randn({5, 6});
  EXPECT_TRUE(kernels::dropout(x, 0.4, /*training=*/false).is_same(x));
  EXPECT_TRUE(kernels::dropout(x, 0.0, true).is_same(x));
  EXPECT_TRUE(at::equal(kernels::dropout(x, 1.0, true), at::zeros_like(x)));
  const at::Tensor h = at::ones({1000}, at::kBFloat16);
  const at::Tensor y = kernels::dropout(h, 0.5, true);
  EXPECT_EQ(y.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::equal(y.ne(0), y.eq(2)));  // kept values are 1 / (1 - 0.5) = 2
}

TEST(Dropout, ProbabilitiesOutsideZeroToOneAreRefused) {
  const at::Tensor x = at::ones({3});
  for (const double p : {-0.1, 1.5, std::nan("")}) EXPECT_THROW(kernels::dropout(x, p, true), Error) << p;
  EXPECT_THROW(lightpeft::Dropout(1.2), Error);
}

TEST(Dropout, TheModuleDropsOnlyInTraining) {
  lightpeft::Dropout d(0.5);
  const at::Tensor x = at::ones({2000});
  EXPECT_GT(d->forward(x).eq(0).sum().item<int64_t>(), 0);
  d->eval();
  EXPECT_TRUE(at::equal(d->forward(x), x));
  EXPECT_DOUBLE_EQ(d->options.p(), 0.5);
}

}  // namespace
}  // namespace lightpeft::kernels
