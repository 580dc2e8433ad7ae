// Head-masked attention: the reference is SelfAttention's own math (bitwise, with and without
// dropout), the dispatcher's checks; on a GPU the fused kernel against the reference (fp32, bf16,
// odd sizes, masks none / random / all-zero / all-one, padding) and its dropout's consistency
// between forward and backward.
#include <cmath>
#include <vector>

#include <ATen/ops/arange.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include "kernels_test_util.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/masked_attention.h"
#include "lightpeft/models/attention.h"
#include "lightpeft/models/attention_mask.h"
#include "lightpeft/models/encoder.h"

namespace lightpeft {
namespace {

using testing::max_diff;
using testing::rel_err;

ModelConfig attention_config(int64_t heads, int64_t head_size, double dropout) {
  ModelConfig c;
  c.hidden_size = heads * head_size;
  c.num_hidden_layers = 1;
  c.num_attention_heads = heads;
  c.intermediate_size = 4;
  c.attention_units_per_layer = {heads};
  c.intermediate_per_layer = {4};
  c.attention_probs_dropout_prob = dropout;
  return c;
}

SelfAttention random_attention(const ModelConfig& c, uint64_t seed = 1) {
  torch::manual_seed(seed);
  SelfAttention attn(c, c.num_attention_heads);
  torch::NoGradGuard no_grad;
  for (auto& p : attn->parameters()) p.normal_(0.0, 0.4);
  return attn;
}

// (B, T) with the last 3 positions of row 1 padded, as HF's extended additive mask.
at::Tensor padding_bias(int64_t batch, int64_t seq, const at::TensorOptions& options = {}) {
  auto mask = at::ones({batch, seq}, at::kLong);
  if (batch > 1 && seq > 3) mask.select(0, 1).narrow(0, seq - 3, 3).zero_();
  return additive_attention_mask(mask, at::kFloat).to(options.device());
}

torch::autograd::variable_list grads_of(const at::Tensor& out, const at::Tensor& dout,
                                        const std::vector<at::Tensor>& inputs) {
  return torch::autograd::grad({out}, inputs, {dout}, /*retain_graph=*/false,
                               /*create_graph=*/false, /*allow_unused=*/true);
}

// ---- CPU: the reference is the model's math ----------------------------------------------------

TEST(MaskedAttentionReference, EqualsSelfAttentionForwardAndBackward) {
  const int64_t heads = 3, head_size = 5, batch = 2, seq = 7;
  auto config = attention_config(heads, head_size, 0.0);
  auto attn = random_attention(config);
  for (bool with_bias : {false, true}) {
    for (bool with_mask : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "bias " << with_bias << ", mask " << with_mask);
      auto hidden = at::randn({batch, seq, heads * head_size}).requires_grad_();
      auto bias = with_bias ? padding_bias(batch, seq) : at::Tensor();
      auto mask = with_mask ? at::randn({1, heads, 1, 1}).requires_grad_() : at::Tensor();
      auto dout = at::randn({batch, seq, heads * head_size});
      std::vector<at::Tensor> inputs{hidden, attn->query->parameters()[0]};
      if (with_mask) inputs.push_back(mask);

      auto by_model = attn->forward(hidden, bias, mask);
      auto model_grads = grads_of(by_model, dout, inputs);
      auto by_op = kernels::reference::masked_attention(attn->query->forward(hidden),
                                                        attn->key->forward(hidden),
                                                        attn->value->forward(hidden), bias, mask,
                                                        heads, 0.0, true);
      auto op_grads = grads_of(by_op, dout, inputs);
      // Without dropout the model runs LibTorch's fused attention, the reference the eager
      // arithmetic: equal up to rounding.
      EXPECT_LT(max_diff(by_model, by_op), 1e-5);
      for (size_t i = 0; i < inputs.size(); ++i) EXPECT_LT(max_diff(model_grads[i], op_grads[i]), 1e-5);
    }
  }
}

TEST(MaskedAttentionReference, SameDropoutDrawsAsTheModel) {
  auto config = attention_config(2, 4, 0.3);
  auto attn = random_attention(config);
  attn->train();
  auto hidden = at::randn({3, 6, 8});
  auto mask = at::randn({1, 2, 1, 1});
  torch::manual_seed(42);
  auto by_model = attn->forward(hidden, {}, mask);
  torch::manual_seed(42);
  auto by_op = kernels::masked_attention(attn->query->forward(hidden), attn->key->forward(hidden),
                                         attn->value->forward(hidden), {}, mask, 2, 0.3, true);
  EXPECT_TRUE(at::equal(by_model, by_op));
  // Not training: no dropout, whatever p says (the model's fused kernel then: equal up to rounding).
  attn->eval();
  EXPECT_LT(max_diff(attn->forward(hidden, {}, mask),
                     kernels::masked_attention(attn->query->forward(hidden), attn->key->forward(hidden),
                                               attn->value->forward(hidden), {}, mask, 2, 0.3, false)),
            1e-5);
}

TEST(MaskedAttentionReference, DispatcherOnCpuIsTheReference) {
  auto q = at::randn({2, 5, 6}), k = at::randn({2, 5, 6}), v = at::randn({2, 5, 6});
  auto bias = padding_bias(2, 5);
  auto mask = at::randn({1, 3, 1, 1});
  EXPECT_TRUE(at::equal(kernels::masked_attention(q, k, v, bias, mask, 3),
                        kernels::reference::masked_attention(q, k, v, bias, mask, 3)));
}

TEST(MaskedAttentionReference, AllZeroAndAllOneMasks) {
  auto q = at::randn({2, 5, 6}).requires_grad_(), k = at::randn({2, 5, 6}),
       v = at::randn({2, 5, 6});
  auto zeros = at::zeros({1, 3, 1, 1}).requires_grad_();
  auto out = kernels::masked_attention(q, k, v, {}, zeros, 3);
  EXPECT_EQ(out.abs().max().item<double>(), 0.0);
  auto g = grads_of(out, at::randn({2, 5, 6}), {q, zeros});
  EXPECT_EQ(g[0].abs().max().item<double>(), 0.0);  // nothing flows past a zero mask...
  EXPECT_GT(g[1].abs().min().item<double>(), 0.0);  // ...but the mask itself has a gradient
  // d mask_h = sum over (b, i, d) of dout * (unmasked context of head h).
  auto ones = at::ones({3});
  EXPECT_TRUE(at::equal(kernels::masked_attention(q, k, v, {}, ones, 3),
                        kernels::masked_attention(q, k, v, {}, {}, 3)));
}

TEST(MaskedAttentionReference, ZeroHeads) {
  auto q = at::randn({2, 4, 0});
  auto out = kernels::masked_attention(q, q, q, {}, {}, 0);
  EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 4, 0}));
}

TEST(MaskedAttentionReference, BadArgumentsAreErrors) {
  auto q = at::randn({2, 7, 15});
  EXPECT_THROW(kernels::masked_attention(q, at::randn({2, 6, 15}), q, {}, {}, 3), Error);
  EXPECT_THROW(kernels::masked_attention(q, q, q, {}, {}, 4), Error);       // 15 % 4 != 0
  EXPECT_THROW(kernels::masked_attention(q, q, q, {}, at::ones({2}), 3), Error);
  EXPECT_THROW(kernels::masked_attention(q, q, q, at::zeros({2, 1, 1, 6}), {}, 3), Error);
  EXPECT_THROW(kernels::masked_attention(q, q, q, {}, {}, 3, 1.0, true), Error);
  EXPECT_THROW(kernels::masked_attention(at::randn({7, 15}), q, q, {}, {}, 3), Error);
  EXPECT_THROW(kernels::masked_attention(q, q, q, {}, {}, -1), Error);
}

// ---- GPU: fused kernel vs reference ------------------------------------------------------------

struct Shape {
  int64_t batch, seq, heads, head_dim;
};

enum class MaskKind { none, random, zeros, ones };

TEST(MaskedAttentionKernel, MatchesReferenceOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  const std::vector<Shape> shapes = {{1, 1, 1, 1},    {2, 7, 3, 5},   {3, 19, 2, 32},
                                     {2, 33, 2, 64},  {4, 128, 12, 64}, {1, 70, 4, 128},
                                     {2, 200, 3, 17}};
  torch::manual_seed(7);
  for (const auto& s : shapes) {
    for (auto kind : {MaskKind::none, MaskKind::random, MaskKind::zeros, MaskKind::ones}) {
      for (auto dtype : {at::kFloat, at::kBFloat16}) {
        SCOPED_TRACE(::testing::Message() << "B " << s.batch << " T " << s.seq << " H " << s.heads
                                          << " d " << s.head_dim << " mask " << int(kind)
                                          << (dtype == at::kFloat ? " fp32" : " bf16"));
        const int64_t width = s.heads * s.head_dim;
        auto q = testing::bf16_exact_randn({s.batch, s.seq, width}, cuda);
        auto k = testing::bf16_exact_randn({s.batch, s.seq, width}, cuda);
        auto v = testing::bf16_exact_randn({s.batch, s.seq, width}, cuda);
        auto dout = testing::bf16_exact_randn({s.batch, s.seq, width}, cuda);
        auto bias = padding_bias(s.batch, s.seq, cuda);
        at::Tensor mask;
        if (kind == MaskKind::random) mask = at::randn({1, s.heads, 1, 1}, cuda);
        if (kind == MaskKind::zeros) mask = at::zeros({1, s.heads, 1, 1}, cuda);
        if (kind == MaskKind::ones) mask = at::ones({1, s.heads, 1, 1}, cuda);

        auto run = [&](bool fused) {
          auto cast = [&](const at::Tensor& t) {
            return (fused ? t.to(dtype) : t).detach().requires_grad_();
          };
          auto qi = cast(q), ki = cast(k), vi = cast(v);
          auto mi = mask.defined() ? mask.clone().requires_grad_() : at::Tensor();
          auto out = fused ? kernels::masked_attention(qi, ki, vi, bias, mi, s.heads)
                           : kernels::reference::masked_attention(qi, ki, vi, bias, mi, s.heads);
          std::vector<at::Tensor> inputs{qi, ki, vi};
          if (mi.defined()) inputs.push_back(mi);
          auto grads = grads_of(out, fused ? dout.to(dtype) : dout, inputs);
          grads.insert(grads.begin(), out);
          return grads;
        };
        auto ref = run(false), got = run(true);
        const double tol_out = dtype == at::kFloat ? testing::kFp32Forward : testing::kBf16;
        const double tol_grad = dtype == at::kFloat ? testing::kFp32Grad : testing::kBf16;
        EXPECT_EQ(got[0].scalar_type(), dtype);
        EXPECT_LT(rel_err(got[0], ref[0]), tol_out) << "output";
        const char* names[] = {"dq", "dk", "dv", "dmask"};
        for (size_t i = 1; i < ref.size(); ++i)
          EXPECT_LT(rel_err(got[i], ref[i]), tol_grad) << names[i - 1];
      }
    }
  }
}

// With dropout the kernel draws its own keep-mask. v = one-hot rows (head_dim >= seq) makes the
// output show dropout(P) itself; the backward must use the same keep-mask as the forward.
TEST(MaskedAttentionKernel, DropoutIsConsistentBetweenForwardAndBackwardOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  const int64_t batch = 2, seq = 16, heads = 2, head_dim = 32;
  const double p = 0.4;
  torch::manual_seed(3);
  auto q = at::randn({batch, seq, heads * head_dim}, cuda).requires_grad_();
  auto k = at::randn({batch, seq, heads * head_dim}, cuda).requires_grad_();
  // v[b, j, h, d] = (d == j)
  auto eye = (at::arange(seq, cuda.dtype(at::kLong)).unsqueeze(1) ==
              at::arange(head_dim, cuda.dtype(at::kLong)).unsqueeze(0))
                 .to(at::kFloat);  // (T, d)
  auto v = eye.unsqueeze(0).unsqueeze(2).expand({batch, seq, heads, head_dim})
               .reshape({batch, seq, heads * head_dim}).contiguous().requires_grad_();
  auto out = kernels::masked_attention(q, k, v, {}, {}, heads, p, /*training=*/true);
  // dropped[b, h, i, j] = dropout(P)_ij
  auto dropped = out.view({batch, seq, heads, head_dim}).narrow(3, 0, seq).permute({0, 2, 1, 3});
  auto keep = (dropped != 0).to(at::kFloat);
  const double kept = keep.mean().item<double>();
  EXPECT_NEAR(kept, 1.0 - p, 0.08);

  // The reference with that keep-mask, written out.
  auto split = [&](const at::Tensor& x) {
    return x.view({batch, seq, heads, head_dim}).permute({0, 2, 1, 3});
  };
  auto probs = at::softmax(at::matmul(split(q), split(k).transpose(-1, -2)) / std::sqrt(32.0), -1);
  auto ref = at::matmul(probs * keep / (1.0 - p), split(v)).permute({0, 2, 1, 3})
                 .reshape({batch, seq, heads * head_dim});
  EXPECT_LT(rel_err(out, ref), testing::kFp32Forward);
  auto dout = at::randn(out.sizes(), cuda);
  auto got = grads_of(out, dout, {q, k, v});
  auto want = grads_of(ref, dout, {q, k, v});
  EXPECT_LT(rel_err(got[0], want[0]), testing::kFp32Grad) << "dq";
  EXPECT_LT(rel_err(got[1], want[1]), testing::kFp32Grad) << "dk";
  EXPECT_LT(rel_err(got[2], want[2]), testing::kFp32Grad) << "dv";

  // Seeded: the same seed gives the same mask, another seed another one.
  auto again = [&](uint64_t seed) {
    torch::manual_seed(seed);
    return kernels::masked_attention(q.detach(), k.detach(), v.detach(), {}, {}, heads, p, true);
  };
  EXPECT_TRUE(at::equal(again(11), again(11)));
  EXPECT_FALSE(at::equal(again(11), again(12)));
}

}  // namespace
}  // namespace lightpeft
