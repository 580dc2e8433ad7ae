#include "lightpeft/kernels/lora_linear.h"

#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/linalg_vector_norm.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/where.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"

#ifdef LIGHTPEFT_WITH_CUDA
#include <ATen/ops/addmm.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/mm.h>
#include <torch/csrc/autograd/custom_function.h>

#include "cuda_bridge.h"
#endif

namespace lightpeft::kernels {
namespace {

void check_arguments(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                     const at::Tensor& A, const at::Tensor& B, const at::Tensor& x_lora,
                     const ModuleRatioSink* ratio) {
  LP_CHECK(weight.defined() && weight.dim() == 2,
           "lora_linear: expected weight of shape (out, in), got ",
           weight.defined() ? weight.sizes() : at::IntArrayRef{});
  const int64_t out = weight.size(0), in = weight.size(1);
  LP_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == in, "lora_linear: x of shape ",
           x.defined() ? x.sizes() : at::IntArrayRef{}, " does not fit weight of shape ",
           weight.sizes());
  if (bias.defined())
    LP_CHECK(bias.dim() == 1 && bias.size(0) == out, "lora_linear: bias of shape ", bias.sizes(),
             " does not fit weight of shape ", weight.sizes());
  LP_CHECK(A.defined() == B.defined(),
           "lora_linear: lora_A and lora_B are both given (r > 0) or both undefined (r = 0)");
  if (A.defined()) {
    LP_CHECK(A.dim() == 2 && A.size(1) == in, "lora_linear: lora_A of shape ", A.sizes(),
             " does not fit ", in, " input features (expected (r, ", in, "))");
    LP_CHECK(B.dim() == 2 && B.size(0) == out && B.size(1) == A.size(0),
             "lora_linear: lora_B of shape ", B.sizes(), " does not fit lora_A of shape ",
             A.sizes(), " and ", out, " output features (expected (", out, ", ", A.size(0), "))");
  }
  if (x_lora.defined())
    LP_CHECK(x_lora.sizes() == x.sizes(), "lora_linear: x_lora of shape ", x_lora.sizes(),
             " differs from x of shape ", x.sizes());
  if (ratio) {
    for (const auto* t : {&ratio->ratio_sum, &ratio->token_count})
      LP_CHECK(t->defined() && t->numel() == 1 && t->scalar_type() == at::kFloat,
               "lora_linear: the module-ratio sink needs one-element float32 tensors");
    if (ratio->token_mask.defined()) {
      const auto tokens = x.sizes().slice(0, x.dim() - 1);
      LP_CHECK(ratio->token_mask.scalar_type() == at::kBool && ratio->token_mask.sizes() == tokens,
               "lora_linear: token mask of shape ", ratio->token_mask.sizes(),
               " does not fit the tokens of x ", tokens, " (a bool tensor is expected)");
    }
  }
}

// ModuleImportance::observe (src/pruning/module_importance.cpp): per-token norm ratio in fp32,
// summed over the counted tokens.
void record_ratio(const at::Tensor& base, const at::Tensor& delta, const ModuleRatioSink& sink) {
  at::NoGradGuard no_grad;
  auto num = at::linalg_vector_norm(delta.detach().to(at::kFloat), 2, {-1});
  auto den = at::linalg_vector_norm(base.detach().to(at::kFloat), 2, {-1});
  auto ratio = num / den;
  at::Tensor sum, tokens;
  if (sink.token_mask.defined()) {
    auto mask = sink.token_mask.to(ratio.device());
    sum = at::where(mask, ratio, at::zeros({}, ratio.options())).sum();
    tokens = mask.sum().to(at::kFloat);
  } else {
    sum = ratio.sum();
    tokens = at::ones({}, ratio.options()) * static_cast<double>(ratio.numel());
  }
  sink.ratio_sum.add_(sum.reshape(sink.ratio_sum.sizes()));
  sink.token_count.add_(tokens.reshape(sink.token_count.sizes()));
}

}  // namespace

namespace reference {

at::Tensor lora_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                       const at::Tensor& lora_A, const at::Tensor& lora_B, double scaling,
                       const at::Tensor& x_lora, const ModuleRatioSink* ratio) {
  check_arguments(x, weight, bias, lora_A, lora_B, x_lora, ratio);
  // LoraLinearImpl::forward: base_layer(x) + lora_B(lora_A(lora_dropout(x))) * scaling.
  auto result = at::linear(x, weight, bias);
  if (!lora_A.defined()) return result;  // r = 0: the base layer alone
  auto delta = at::linear(at::linear(x_lora.defined() ? x_lora : x, lora_A, {}), lora_B, {}) *
               scaling;
  if (ratio) record_ratio(result, delta, *ratio);
  return result + delta;
}

}  // namespace reference

#ifdef LIGHTPEFT_WITH_CUDA
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class LoraLinearFunction : public torch::autograd::Function<LoraLinearFunction> {
 public:
  // x_lora undefined: the LoRA branch reads x itself (no dropout), and the two input-gradient
  // terms become one GEMM plus one accumulating GEMM. ratio_sum/token_count undefined: no
  // importance recording.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& x_lora,
                            const at::Tensor& weight, const at::Tensor& bias, const at::Tensor& A,
                            const at::Tensor& B, double scaling, const at::Tensor& token_mask,
                            const at::Tensor& ratio_sum, const at::Tensor& token_count) {
    bridge::NoAutocast no_autocast;
    c10::cuda::CUDAGuard device(x.device());
    const int64_t in = weight.size(1), out = weight.size(0), r = A.size(0);
    const bool same = !x_lora.defined();
    auto x2 = x.reshape({-1, in}).contiguous();
    auto xl2 = same ? x2 : x_lora.reshape({-1, in}).contiguous();
    const int64_t M = x2.size(0);
    // The base GEMM with cuBLAS's bias epilogue, then the rank-r GEMM.
    auto y = bias.defined() ? at::addmm(bias, x2, weight.t()) : at::mm(x2, weight.t());
    auto u = at::mm(xl2, A.t());
    auto Bc = B.contiguous();
    const bool record = ratio_sum.defined();
    at::Tensor delta_sq, base_sq;
    if (record) {
      delta_sq = at::empty({M}, x2.options().dtype(at::kFloat));
      base_sq = at::empty({M}, x2.options().dtype(at::kFloat));
    }
    void* stream = bridge::stream_of(x2);
    bridge::check(gpu::lora_update(bridge::dtype_of(y), M, out, r, u.data_ptr(), Bc.data_ptr(),
                                   static_cast<float>(scaling), y.data_ptr(),
                                   record ? delta_sq.data_ptr<float>() : nullptr,
                                   record ? base_sq.data_ptr<float>() : nullptr, stream),
                  "lora_linear (fused update)");
    if (record) {
      auto mask = token_mask.defined() ? token_mask.to(x2.device()).reshape({-1}).contiguous()
                                       : at::Tensor();
      bridge::check(gpu::module_ratio_accumulate(
                        M, delta_sq.data_ptr<float>(), base_sq.data_ptr<float>(),
                        mask.defined() ? mask.data_ptr<bool>() : nullptr,
                        ratio_sum.data_ptr<float>(), token_count.data_ptr<float>(), stream),
                    "lora_linear (module ratio)");
    }
    ctx->save_for_backward({x2, same ? at::Tensor() : xl2, weight, A, Bc, u});
    ctx->saved_data["scaling"] = scaling;
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->saved_data["has_bias"] = bias.defined();
    auto out_sizes = x.sizes().vec();
    out_sizes.back() = out;
    return y.view(out_sizes);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    bridge::NoAutocast no_autocast;
    const auto saved = ctx->get_saved_variables();
    const auto &x2 = saved[0], &weight = saved[2], &A = saved[3], &B = saved[4], &u = saved[5];
    const bool same = !saved[1].defined();
    const auto& xl2 = same ? x2 : saved[1];
    c10::cuda::CUDAGuard device(x2.device());
    const double scaling = ctx->saved_data["scaling"].toDouble();
    const auto x_sizes = ctx->saved_data["x_sizes"].toIntVector();
    const int64_t M = x2.size(0), out = weight.size(0);
    auto dy = grads[0].reshape({M, out}).to(x2.scalar_type()).contiguous();
    // g = scaling * dy B (M, r): small, shared by dx_lora and dA.
    auto g = at::mm(dy, B).mul_(scaling);
    at::Tensor dx, dxl, dw, db, dA, dB;
    if (ctx->needs_input_grad(0)) {
      dx = at::mm(dy, weight);
      if (same) dx.addmm_(g, A);  // dy W + g A: cuBLAS accumulates into dx (beta = 1)
      dx = dx.view(x_sizes);
    }
    if (!same && ctx->needs_input_grad(1)) dxl = at::mm(g, A).view(x_sizes);
    if (ctx->needs_input_grad(2)) dw = at::mm(dy.t(), x2);
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(3)) db = dy.sum(0);
    if (ctx->needs_input_grad(4)) dA = at::mm(g.t(), xl2);
    if (ctx->needs_input_grad(5)) dB = at::mm(dy.t(), u).mul_(scaling);
    return {dx, dxl, dw, db, dA, dB, {}, {}, {}, {}};
  }
};

}  // namespace
#endif  // LIGHTPEFT_WITH_CUDA

at::Tensor lora_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                       const at::Tensor& lora_A, const at::Tensor& lora_B, double scaling,
                       const at::Tensor& x_lora, const ModuleRatioSink* ratio) {
  check_arguments(x, weight, bias, lora_A, lora_B, x_lora, ratio);
  if (!lora_A.defined()) return at::linear(x, weight, bias);  // r = 0: cuBLAS on CUDA
#ifdef LIGHTPEFT_WITH_CUDA
  auto on_device = [&](const at::Tensor& t) { return !t.defined() || t.device() == x.device(); };
  if (x.is_cuda() && x.numel() > 0 && on_device(x_lora) && on_device(weight) && on_device(bias) &&
      on_device(lora_A) && on_device(lora_B) &&
      (!ratio || (on_device(ratio->ratio_sum) && on_device(ratio->token_count)))) {
    // Under autocast the reference's linears compute in the autocast dtype: so does the fused
    // path. Without it, mixed dtypes are the reference's error to report.
    const auto autocast = bridge::cuda_autocast_dtype();
    const auto dtype = autocast.value_or(x.scalar_type());
    bool same = true;
    for (const auto* t : {&x_lora, &weight, &bias, &lora_A, &lora_B})
      same = same && (!t->defined() || t->scalar_type() == dtype);
    if (bridge::kernel_dtype(dtype) && (autocast || same)) {
      const bool shared_input = !x_lora.defined() || x_lora.is_same(x);
      return LoraLinearFunction::apply(
          bridge::cast(x, dtype), shared_input ? at::Tensor() : bridge::cast(x_lora, dtype),
          bridge::cast(weight, dtype), bridge::cast(bias, dtype), bridge::cast(lora_A, dtype),
          bridge::cast(lora_B, dtype), scaling, ratio ? ratio->token_mask : at::Tensor(),
          ratio ? ratio->ratio_sum : at::Tensor(), ratio ? ratio->token_count : at::Tensor());
    }
  }
#endif
  return reference::lora_linear(x, weight, bias, lora_A, lora_B, scaling, x_lora, ratio);
}

}  // namespace lightpeft::kernels
