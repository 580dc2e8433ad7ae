// The fused CPU kernels of the LLaMA family's step against ATen's composites they replace:
// kernels::silu_mul (SwiGLU's product), kernels::apply_rotary (rotary embedding),
// kernels::short_attention (attention as batched products) and kernels::linear_cross_entropy (LM
// head + causal LM loss). Outputs and every gradient by autograd
// through both, inputs wide enough to reach the exp's clamps, lengths that leave vector tails,
// strided views, a broadcast cos/sin, short attention against LibTorch's (masks with padding,
// GQA, cached keys), several loss chunks, ignored targets, bf16 under autocast,
// no graph under NoGradGuard, and bad input refused with lightpeft::Error; the exp-using kernels at
// every vector width the CPU runs (AVX-512, AVX2, SSE2 paths).
#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>
#include <torch/autograd.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/cpu_vector_width.h"
#include "lightpeft/kernels/linear_cross_entropy.h"
#include "lightpeft/kernels/rotary.h"
#include "lightpeft/kernels/short_attention.h"
#include "lightpeft/kernels/swiglu.h"

namespace lightpeft::kernels {
namespace {

void expect_close(const at::Tensor& a, const at::Tensor& b, double rtol, double atol, const char* what) {
  ASSERT_TRUE(a.defined() && b.defined()) << what;
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  ASSERT_EQ(a.scalar_type(), b.scalar_type()) << what;
  EXPECT_TRUE(at::allclose(a, b, rtol, atol)) << what << ": max |diff| " << (a - b).abs().max().item<double>();
}

at::Tensor leaf(const at::Tensor& t) { return t.detach().clone().requires_grad_(true); }

// Every vector width this CPU runs (each its own compiled path), restoring the widest after.
template <typename Check>
void for_each_width(Check check) {
  for (const int lanes : {4, 8, 16}) {
    if (lanes > widest_cpu_vector_width()) continue;
    SCOPED_TRACE(testing::Message() << lanes << " lanes");
    set_cpu_vector_width(lanes);
    check();
  }
  set_cpu_vector_width(widest_cpu_vector_width());
}

// ---- silu_mul --------------------------------------------------------------------------------

struct SwigluRun {
  at::Tensor y, dgate, dup;
};

template <typename Fn>
SwigluRun run_swiglu(Fn fn, const at::Tensor& gate0, const at::Tensor& up0, const at::Tensor& probe) {
  at::Tensor gate = leaf(gate0), up = leaf(up0);
  at::Tensor y = fn(gate, up);
  (y * probe).sum().backward();
  return {y.detach(), gate.grad(), up.grad()};
}

TEST(SiluMul, OutputAndGradientsEqualAtensCompositeToFloatRounding) {
  at::manual_seed(1);
  // 1,536 x 3 rows: whole vectors; 37 and 5: tails (and a tensor shorter than one vector).
  for (const int64_t width : {1536, 37, 5}) {
    const at::Tensor gate = at::randn({3, width}) * 4, up = at::randn({3, width}), probe = at::randn({3, width});
    const SwigluRun ref = run_swiglu(reference::silu_mul, gate, up, probe);
    for_each_width([&] {
      const SwigluRun fused = run_swiglu(silu_mul, gate, up, probe);
      expect_close(fused.y, ref.y, 1e-5, 1e-6, "y");
      expect_close(fused.dgate, ref.dgate, 1e-5, 1e-6, "dgate");
      expect_close(fused.dup, ref.dup, 1e-5, 1e-6, "dup");
    });
  }
}

TEST(SiluMul, ExtremeGatesSaturateAsAtensAndNanPropagates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const at::Tensor gate = at::tensor({-1000.f, -100.f, -88.f, -20.f, 0.f, 20.f, 88.f, 100.f, 1000.f, nan});
  const at::Tensor up = at::full({10}, 2.f);
  const at::Tensor ref = reference::silu_mul(gate, up);
  for_each_width([&] {
    const at::Tensor y = silu_mul(gate, up);
    EXPECT_TRUE(at::allclose(y.narrow(0, 0, 9), ref.narrow(0, 0, 9), 1e-6, 1e-30)) << y << ref;
    EXPECT_TRUE(std::isnan(y[9].item<float>()));
  });
}

TEST(SiluMul, NoGraphWithoutGradients) {
  at::manual_seed(2);
  at::Tensor g = leaf(at::randn({4, 64}));
  at::NoGradGuard no_grad;
  EXPECT_FALSE(silu_mul(g, at::randn({4, 64})).requires_grad());
}

TEST(SiluMul, Bf16WithoutAGraphRoundsAsTheCompositeAndWithOneRunsIt) {
  at::manual_seed(12);
  // 1,000 elements: whole vectors and a tail; gates wide enough to saturate; a NaN.
  at::Tensor gate = (at::randn({1000}) * 6).to(at::kBFloat16), up = at::randn({1000}).to(at::kBFloat16);
  gate[7] = std::numeric_limits<float>::quiet_NaN();
  const at::Tensor ref = reference::silu_mul(gate, up);
  for_each_width([&] {
    at::NoGradGuard no_grad;
    const at::Tensor y = silu_mul(gate, up);
    EXPECT_EQ(y.scalar_type(), at::kBFloat16);
    EXPECT_TRUE(std::isnan(y[7].item<float>()));
    // Exp within 2 ulp of Sleef's: at most one bf16 step apart, and only where float silu sits on a
    // rounding boundary.
    const at::Tensor diff = (y.to(at::kFloat) - ref.to(at::kFloat)).abs();
    diff[7] = 0;
    EXPECT_LE(diff.max().item<float>(), 1e-2 * std::max(1.0f, ref.to(at::kFloat).abs().nan_to_num(0).max().item<float>()));
    EXPECT_GE(at::eq(y.nan_to_num(0), ref.nan_to_num(0)).to(at::kFloat).mean().item<float>(), 0.99f);
  });
  const at::Tensor g = gate.detach().clone().requires_grad_(true);  // training: the composite itself
  const at::Tensor y = silu_mul(g, up);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_TRUE(at::equal(y.detach().nan_to_num(0), ref.nan_to_num(0)));
}

TEST(SiluMul, ShapesThatDifferAreRefused) {
  EXPECT_THROW(silu_mul(at::randn({2, 3}), at::randn({3, 2})), lightpeft::Error);
}

TEST(CpuVectorWidth, OnlyWidthsThisCpuRunsAreAccepted) {
  EXPECT_THROW(set_cpu_vector_width(32), lightpeft::Error);
  EXPECT_THROW(set_cpu_vector_width(5), lightpeft::Error);
  if (widest_cpu_vector_width() < 16) EXPECT_THROW(set_cpu_vector_width(16), lightpeft::Error);
  set_cpu_vector_width(4);
  EXPECT_EQ(cpu_vector_width(), 4);
  set_cpu_vector_width(widest_cpu_vector_width());
  EXPECT_EQ(cpu_vector_width(), widest_cpu_vector_width());
}

// ---- apply_rotary ----------------------------------------------------------------------------

struct RotaryRun {
  at::Tensor y, dx;
};

template <typename Fn>
RotaryRun run_rotary(Fn fn, const at::Tensor& x_flat, int64_t heads, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& probe) {
  at::Tensor flat = leaf(x_flat);  // (B, T, H * d), viewed as the attention does: (B, H, T, d)
  const int64_t b = flat.size(0), t = flat.size(1), d = flat.size(2) / heads;
  at::Tensor y = fn(flat.view({b, t, heads, d}).transpose(1, 2), cos, sin);
  (y * probe).sum().backward();
  return {y.detach(), flat.grad()};
}

TEST(Rotary, OutputAndGradientEqualHfsRotateHalfOnTransposedViews) {
  at::manual_seed(3);
  const int64_t B = 2, T = 5, H = 3, d = 8;
  const at::Tensor x = at::randn({B, T, H * d}), probe = at::randn({B, H, T, d});
  const at::Tensor angles = at::randn({B, T, d});
  for (const bool broadcast : {false, true}) {  // cos/sin per row, or one (1, T, d) for the batch
    const at::Tensor cos = broadcast ? angles.narrow(0, 0, 1).cos() : angles.cos();
    const at::Tensor sin = broadcast ? angles.narrow(0, 0, 1).sin() : angles.sin();
    const RotaryRun fused = run_rotary(apply_rotary, x, H, cos, sin, probe);
    const RotaryRun ref = run_rotary(reference::apply_rotary, x, H, cos, sin, probe);
    expect_close(fused.y, ref.y, 1e-6, 1e-6, "y");
    expect_close(fused.dx, ref.dx, 1e-6, 1e-6, "dx");
    // The output is contiguous (what attention reads without a copy); the gradient keeps the
    // input's layout (the backward of the views before it needs no copy).
    EXPECT_TRUE(fused.y.is_contiguous());
    EXPECT_TRUE(fused.dx.is_contiguous());
  }
}

TEST(Rotary, Bf16WithoutAGraphGivesTheCompositesValueInTheDtypeAttentionReads) {
  at::manual_seed(9);
  const at::Tensor x = at::randn({2, 5, 3 * 8}).to(at::kBFloat16).view({2, 5, 3, 8}).transpose(1, 2);
  const at::Tensor angles = at::randn({2, 5, 8}), cos = angles.cos(), sin = angles.sin();
  const at::Tensor ref = reference::apply_rotary(x, cos, sin);  // float32: bf16 x times float cos/sin
  at::NoGradGuard no_grad;
  const at::Tensor plain = apply_rotary(x, cos, sin);
  EXPECT_EQ(plain.scalar_type(), at::kFloat);
  expect_close(plain, ref, 1e-6, 1e-6, "without autocast: float32");
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, true);
  const at::Tensor cast = apply_rotary(x, cos, sin);
  at::autocast::set_autocast_enabled(at::kCPU, false);
  EXPECT_EQ(cast.scalar_type(), at::kBFloat16);  // what the attention would cast it to
  EXPECT_TRUE(at::equal(cast, ref.to(at::kBFloat16)));
}

TEST(Rotary, ShapesThatDoNotFitAreRefused) {
  const at::Tensor cos = at::randn({1, 4, 6}), sin = at::randn({1, 4, 6});
  EXPECT_THROW(apply_rotary(at::randn({1, 2, 4, 5}), cos, sin), lightpeft::Error);  // odd head_dim
  EXPECT_THROW(apply_rotary(at::randn({1, 2, 3, 6}), cos, sin), lightpeft::Error);  // 3 positions, 4 angles
  EXPECT_THROW(apply_rotary(at::randn({2, 4, 6}), cos, sin), lightpeft::Error);     // no head dimension
}

// ---- short_attention -------------------------------------------------------------------------

struct AttentionRun {
  at::Tensor out, dq, dk, dv;
};

// LibTorch's attention (what grouped_attention runs otherwise) or short_attention, with gradients.
AttentionRun run_attention(bool fused, const at::Tensor& q0, const at::Tensor& k0, const at::Tensor& v0,
                           const at::Tensor& mask, const at::Tensor& probe, double scaling, int64_t groups) {
  at::Tensor q = leaf(q0), k = leaf(k0), v = leaf(v0);
  at::Tensor out = fused ? short_attention(q, k, v, mask, scaling, groups)
                         : at::scaled_dot_product_attention(q, k, v, mask.defined() ? std::optional<at::Tensor>(mask)
                                                                                    : std::nullopt,
                                                            0.0, false, scaling, /*enable_gqa=*/groups > 1);
  (out * probe).sum().backward();
  return {out.detach(), q.grad(), k.grad(), v.grad()};
}

TEST(ShortAttention, OutputAndGradientsEqualLibTorchsAttention) {
  at::manual_seed(7);
  const int64_t B = 2, KV = 2, d = 16;
  const float lowest = std::numeric_limits<float>::lowest();
  // (groups, queries, keys, mask): GQA and not; a causal mask with padding per row; one causal
  // mask for the batch; no mask; queries after cached keys (T < S); 37 keys (vector tails).
  // An encoder's padding mask (B, 1, 1, S): kind 3.
  for (const auto& [groups, T, S, kind] : {std::tuple<int64_t, int64_t, int64_t, int>{3, 12, 12, 0}, {1, 12, 12, 1},
                                           {3, 7, 7, 2}, {3, 5, 37, 1}, {1, 9, 9, 3}}) {
    SCOPED_TRACE(testing::Message() << groups << " groups, " << T << " x " << S << ", mask kind " << kind);
    // The usual layouts: q, k, v transposed views of (B, T, heads * d) projections.
    const at::Tensor q = at::randn({B, T, KV * groups, d}).transpose(1, 2);
    const at::Tensor k = at::randn({B, S, KV, d}).transpose(1, 2), v = at::randn({B, S, KV, d}).transpose(1, 2);
    at::Tensor mask;
    if (kind == 3) {
      mask = at::zeros({B, 1, 1, S});
      mask.select(0, 0).narrow(-1, S - 3, 3).fill_(lowest);
    } else if (kind != 2) {
      const at::Tensor visible = at::arange(S).unsqueeze(0).le(at::arange(S - T, S).unsqueeze(1));  // (T, S)
      mask = at::zeros({kind == 0 ? B : 1, 1, T, S}).masked_fill(visible.logical_not(), lowest);
      if (kind == 0) mask.select(0, 1).narrow(-1, S - 2, 2).fill_(lowest);  // row 1: two padded keys at its end
    }
    const at::Tensor probe = at::randn({B, KV * groups, T, d});
    const AttentionRun ref = run_attention(false, q, k, v, mask, probe, 0.25, groups);
    for_each_width([&] {
      const AttentionRun fused = run_attention(true, q, k, v, mask, probe, 0.25, groups);
      expect_close(fused.out, ref.out, 1e-5, 1e-6, "out");
      expect_close(fused.dq, ref.dq, 1e-4, 1e-5, "dq");
      expect_close(fused.dk, ref.dk, 1e-4, 1e-5, "dk");
      expect_close(fused.dv, ref.dv, 1e-4, 1e-5, "dv");
    });
    at::NoGradGuard no_grad;
    expect_close(short_attention(q, k, v, mask, 0.25, groups), ref.out, 1e-5, 1e-6, "out without a graph");
  }
}

TEST(ShortAttention, UnderBf16AutocastWithGradientsMatchesLibTorchsBf16Attention) {
  at::manual_seed(8);
  const int64_t B = 2, KV = 2, G = 3, T = 10, d = 16;
  // As in a LLaMA layer under autocast: q and k float32 (rotated by float cos/sin), v bf16.
  const at::Tensor q = at::randn({B, KV * G, T, d}), k = at::randn({B, KV, T, d});
  const at::Tensor v = at::randn({B, KV, T, d}).to(at::kBFloat16), probe = at::randn({B, KV * G, T, d});
  const at::Tensor visible = at::arange(T).unsqueeze(0).le(at::arange(T).unsqueeze(1));
  const at::Tensor mask = at::zeros({1, 1, T, T}).masked_fill(visible.logical_not(), -1e30);
  AttentionRun fused, ref;
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, true);
  ASSERT_TRUE(short_attention_applies(leaf(q), leaf(k), v.detach().clone().requires_grad_(true), mask));
  {
    at::NoGradGuard no_grad;  // without gradients LibTorch's bf16 forward is kept
    EXPECT_FALSE(short_attention_applies(q, k, v, mask));
  }
  fused = run_attention(true, q, k, v, mask, probe, 0.25, G);
  ref = run_attention(false, q, k, v, mask, probe, 0.25, G);
  at::autocast::set_autocast_enabled(at::kCPU, false);
  at::autocast::clear_cache();
  EXPECT_EQ(fused.out.scalar_type(), at::kBFloat16);
  EXPECT_EQ(fused.dv.scalar_type(), at::kBFloat16);
  EXPECT_EQ(fused.dq.scalar_type(), at::kFloat);
  // The same bf16-rounded inputs; float32 inside both: equal to bf16 rounding of the outputs.
  expect_close(fused.out.to(at::kFloat), ref.out.to(at::kFloat), 2e-2, 2e-2, "out");
  expect_close(fused.dq, ref.dq, 5e-2, 5e-2, "dq");
  expect_close(fused.dk, ref.dk, 5e-2, 5e-2, "dk");
  expect_close(fused.dv.to(at::kFloat), ref.dv.to(at::kFloat), 5e-2, 5e-2, "dv");
}

TEST(ShortAttention, AppliesToShortFloatRowsOnlyAndRefusesShapesThatDoNotFit) {
  const at::Tensor q = at::randn({1, 4, 3, 8}), k = at::randn({1, 2, 3, 8});
  EXPECT_TRUE(short_attention_applies(q, k, k, {}));
  EXPECT_FALSE(short_attention_applies(q.to(at::kBFloat16), k.to(at::kBFloat16), k.to(at::kBFloat16), {}));  // no graph
  EXPECT_FALSE(short_attention_applies(q.to(at::kInt), k.to(at::kInt), k.to(at::kInt), {}));
  const at::Tensor long_k = at::randn({1, 2, kShortAttentionMaxKeys + 1, 8});
  EXPECT_FALSE(short_attention_applies(q, long_k, long_k, {}));
  EXPECT_THROW(short_attention(q, long_k, long_k, {}, 1.0, 2), lightpeft::Error);
  EXPECT_THROW(short_attention(q, k, k, {}, 1.0, 3), lightpeft::Error);                          // 4 heads, 2 x 3
  EXPECT_THROW(short_attention(q, k, k, at::zeros({1, 1, 3, 4}), 1.0, 2), lightpeft::Error);     // 4 keys in the mask
  EXPECT_THROW(short_attention(q, k, at::randn({1, 2, 3, 4}), {}, 1.0, 2), lightpeft::Error);    // v's width
}

// ---- linear_cross_entropy --------------------------------------------------------------------

struct LossRun {
  at::Tensor loss, dhidden, dweight;
};

// The kernel at its default chunk size.
at::Tensor fused_loss(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets, int64_t ignore) {
  return linear_cross_entropy(hidden, weight, targets, ignore);
}

template <typename Fn>
LossRun run_loss(Fn fn, const at::Tensor& hidden0, const at::Tensor& weight0, const at::Tensor& targets,
                 bool train_weight, double scale = 1.0) {
  at::Tensor hidden = leaf(hidden0), weight = weight0.detach().clone().requires_grad_(train_weight);
  at::Tensor loss = fn(hidden, weight, targets, -100);
  (loss * scale).backward();
  return {loss.detach(), hidden.grad(), train_weight ? weight.grad() : at::Tensor()};
}

TEST(LinearCrossEntropy, LossAndGradientsEqualHfsLossOnFullLogits) {
  at::manual_seed(4);
  // 600 rows of a 50,000-word vocabulary held 250 rows at a time: three chunks of logits (the last
  // one short); a few ignored rows; 5 rows of a 3-word vocabulary: one chunk, no whole vector in a row.
  for (const auto& [rows, vocab, hidden] : {std::tuple<int64_t, int64_t, int64_t>{600, 50000, 8}, {5, 3, 4}}) {
    const at::Tensor h = at::randn({rows, hidden}) * 2, w = at::randn({vocab, hidden});
    at::Tensor targets = at::randint(vocab, {rows}, at::kLong);
    targets.index_put_({at::arange(0, rows, 4)}, -100);
    const LossRun ref = run_loss(reference::linear_cross_entropy, h, w, targets, true, 0.5);
    for_each_width([&] {
      auto chunked = [](const at::Tensor& a, const at::Tensor& b, const at::Tensor& c, int64_t ignore) {
        return linear_cross_entropy(a, b, c, ignore, /*chunk_elements=*/250 * 50000);
      };
      const LossRun fused = run_loss(chunked, h, w, targets, true, 0.5);
      expect_close(fused.loss, ref.loss, 1e-5, 1e-6, "loss");
      expect_close(fused.dhidden, ref.dhidden, 1e-4, 1e-7, "dhidden");
      expect_close(fused.dweight, ref.dweight, 1e-4, 1e-7, "dweight");
    });
  }
}

TEST(LinearCrossEntropy, FrozenWeightGetsNoGradientAndNoGraphLeavesNone) {
  at::manual_seed(5);
  const at::Tensor h = at::randn({6, 4}), w = at::randn({10, 4}), targets = at::randint(10, {6}, at::kLong);
  const LossRun fused = run_loss(fused_loss, h, w, targets, false);
  const LossRun ref = run_loss(reference::linear_cross_entropy, h, w, targets, false);
  expect_close(fused.dhidden, ref.dhidden, 1e-5, 1e-7, "dhidden");
  at::NoGradGuard no_grad;
  const at::Tensor loss = linear_cross_entropy(leaf(h), w, targets);
  EXPECT_FALSE(loss.requires_grad());
  expect_close(loss, ref.loss, 1e-6, 1e-7, "loss without a graph");
}

TEST(LinearCrossEntropy, Bf16UnderAutocastStaysWithinBf16OfTheReference) {
  at::manual_seed(6);
  const at::Tensor h = at::randn({12, 16}), w = at::randn({300, 16}) * 0.3, targets = at::randint(300, {12}, at::kLong);
  LossRun fused, ref;
  {
    at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(at::kCPU, true);
    fused = run_loss(fused_loss, h, w, targets, false);
    ref = run_loss(reference::linear_cross_entropy, h, w, targets, false);
    at::autocast::set_autocast_enabled(at::kCPU, false);
    at::autocast::clear_cache();
  }
  EXPECT_EQ(fused.loss.scalar_type(), at::kFloat);
  EXPECT_EQ(fused.dhidden.scalar_type(), at::kFloat);
  // The same bf16 products on both sides: equal up to the softmax's float rounding.
  expect_close(fused.loss, ref.loss, 1e-5, 1e-6, "loss");
  expect_close(fused.dhidden, ref.dhidden, 1e-2, 1e-4, "dhidden");
}

TEST(LinearCrossEntropy, NoCountedRowIsNanAndBadTargetsAreRefused) {
  const at::Tensor h = at::randn({3, 4}), w = at::randn({5, 4});
  EXPECT_TRUE(std::isnan(linear_cross_entropy(h, w, at::full({3}, -100, at::kLong)).item<float>()));
  EXPECT_THROW(linear_cross_entropy(h, w, at::tensor({0, 5, 1}, at::kLong)), lightpeft::Error);   // past the vocabulary
  EXPECT_THROW(linear_cross_entropy(h, w, at::tensor({0, -3, 1}, at::kLong)), lightpeft::Error);  // negative
  EXPECT_THROW(linear_cross_entropy(h, w, at::tensor({0, 1}, at::kLong)), lightpeft::Error);      // 2 targets, 3 rows
  EXPECT_THROW(linear_cross_entropy(h, at::randn({5, 3}), at::tensor({0, 1, 2}, at::kLong)), lightpeft::Error);
}

}  // namespace
}  // namespace lightpeft::kernels
