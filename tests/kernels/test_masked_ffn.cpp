// Neuron-masked FFN activation: the reference is the transformer layer's own math (bitwise), every
// activation name, all-zero/all-one masks, the checks; on a GPU the fused epilogue against the
// reference for odd and large shapes, fp32 and bf16.
#include <string>
#include <vector>

#include <ATen/ops/equal.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include "kernels_test_util.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/masked_ffn.h"
#include "lightpeft/models/encoder.h"
#include "lightpeft/kernels/activation.h"

namespace lightpeft {
namespace {

using testing::max_diff;
using testing::rel_err;

const std::vector<std::string> kActivations = {"gelu", "gelu_new", "gelu_pytorch_tanh", "relu",
                                               "silu", "swish"};

torch::autograd::variable_list grads_of(const at::Tensor& out, const at::Tensor& dout,
                                        const std::vector<at::Tensor>& inputs) {
  return torch::autograd::grad({out}, inputs, {dout});
}

TEST(MaskedActivationReference, EqualsTheLayersIntermediateTimesMask) {
  ModelConfig c;
  c.hidden_size = 6;
  c.num_attention_heads = 2;
  c.hidden_act = "gelu";
  torch::manual_seed(2);
  Intermediate inter(c, 9);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : inter->parameters()) p.normal_(0.0, 0.5);
  }
  auto x = at::randn({2, 5, 6}).requires_grad_();
  auto mask = at::randn({1, 9}).requires_grad_();
  auto dout = at::randn({2, 5, 9});
  // TransformerLayerImpl::forward: intermediate(attn) * masks.neuron
  auto by_model = inter(x) * mask;
  auto by_op = kernels::reference::masked_activation(inter->dense->forward(x), mask,
                                                     inter->activation());
  EXPECT_TRUE(at::equal(by_model, by_op));
  auto gm = grads_of(by_model, dout, {x, mask});
  auto go = grads_of(by_op, dout, {x, mask});
  EXPECT_TRUE(at::equal(gm[0], go[0]));
  EXPECT_TRUE(at::equal(gm[1], go[1]));
}

TEST(MaskedActivationReference, EveryActivationIsApplyActivationTimesMask) {
  auto h = at::randn({3, 4, 11});
  auto mask = at::randn({11});
  for (const auto& act : kActivations) {
    SCOPED_TRACE(act);
    EXPECT_TRUE(at::equal(kernels::masked_activation(h, mask, act), apply_activation(act, h) * mask));
    EXPECT_TRUE(at::equal(kernels::masked_activation(h, {}, act), apply_activation(act, h)));
  }
}

TEST(MaskedActivationReference, AllZeroAndAllOneMasks) {
  auto h = at::randn({4, 7}).requires_grad_();
  auto zeros = at::zeros({1, 7}).requires_grad_();
  auto out = kernels::masked_activation(h, zeros, "gelu");
  EXPECT_EQ(out.abs().max().item<double>(), 0.0);
  auto dout = at::randn({4, 7});
  auto g = grads_of(out, dout, {h, zeros});
  EXPECT_EQ(g[0].abs().max().item<double>(), 0.0);
  // d mask = sum over rows of dout * gelu(h)
  EXPECT_LT(max_diff(g[1], (dout * apply_activation("gelu", h.detach())).sum(0, true)), 1e-6);
  EXPECT_TRUE(at::equal(kernels::masked_activation(h, at::ones({7}), "gelu"),
                        apply_activation("gelu", h)));
}

TEST(MaskedActivationReference, BadArgumentsAreErrors) {
  auto h = at::randn({2, 3, 5});
  EXPECT_THROW(kernels::masked_activation(h, at::ones({4}), "gelu"), Error);
  EXPECT_THROW(kernels::masked_activation(h, at::ones({5, 1}), "gelu"), Error);
  EXPECT_THROW(kernels::masked_activation(h, at::ones({5}), "tanh"), Error);
  EXPECT_THROW(kernels::masked_activation(at::Tensor(), at::ones({5}), "gelu"), Error);
}

TEST(MaskedActivationKernel, MatchesReferenceOnGpu) {
  LP_REQUIRE_GPU_KERNELS();
  const auto cuda = at::TensorOptions().device(at::kCUDA);
  const std::vector<std::vector<int64_t>> shapes = {{1, 1}, {7, 33}, {3, 5, 257}, {300, 1537},
                                                    {32, 128, 3072}};
  torch::manual_seed(5);
  for (const auto& shape : shapes) {
    const int64_t cols = shape.back();
    for (const auto& act : {"gelu", "gelu_new", "relu", "silu"}) {
      for (int kind = 0; kind < 3; ++kind) {  // random, all-zero, all-one mask
        for (auto dtype : {at::kFloat, at::kBFloat16}) {
          SCOPED_TRACE(::testing::Message() << at::IntArrayRef(shape) << " " << act << " mask "
                                            << kind << (dtype == at::kFloat ? " fp32" : " bf16"));
          auto h = testing::bf16_exact_randn(shape, cuda, 2.0);
          auto dout = testing::bf16_exact_randn(shape, cuda);
          auto mask = kind == 0 ? at::randn({1, cols}, cuda)
                                : kind == 1 ? at::zeros({1, cols}, cuda) : at::ones({1, cols}, cuda);
          auto run = [&](bool fused) {
            auto hi = (fused ? h.to(dtype) : h).detach().requires_grad_();
            auto mi = mask.clone().requires_grad_();
            auto out = fused ? kernels::masked_activation(hi, mi, act)
                             : kernels::reference::masked_activation(hi, mi, act);
            auto g = grads_of(out, fused ? dout.to(dtype) : dout, {hi, mi});
            return std::vector<at::Tensor>{out, g[0], g[1]};
          };
          auto ref = run(false), got = run(true);
          EXPECT_EQ(got[0].scalar_type(), dtype);
          EXPECT_LT(rel_err(got[0], ref[0]), dtype == at::kFloat ? testing::kFp32Forward : testing::kBf16);
          EXPECT_LT(rel_err(got[1], ref[1]), dtype == at::kFloat ? testing::kFp32Grad : testing::kBf16) << "dh";
          EXPECT_LT(rel_err(got[2], ref[2]), dtype == at::kFloat ? testing::kFp32Grad : testing::kBf16) << "dmask";
        }
      }
    }
  }
}

}  // namespace
}  // namespace lightpeft
