#include "lightpeft/kernels/rms_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/rsqrt.h>
#include <ATen/ops/zeros.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "lightpeft/core/error.h"

namespace lightpeft::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Rows per block of the weight gradient's partial sums (and per parallel task).
constexpr int64_t kRowBlock = 64;

// Sixteen running sums, so that the compiler keeps them in vector lanes (a single float sum
// would have to be added in order).
inline float sum_of_products(const float* a, const float* b, int64_t n) {
  float acc[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) acc[j] += a[i + j] * b[i + j];
  float total = 0.0f;
  for (int j = 0; j < 16; ++j) total += acc[j];
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

// y = w * (x * r) row by row; r (one float per row) written to `rstd` when it is not null.
void forward_rows(const float* x, const float* w, float* y, float* rstd, int64_t rows, int64_t n, float eps) {
  at::parallel_for(0, rows, kRowBlock, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const float* xr = x + row * n;
      float* yr = y + row * n;
      const float r = 1.0f / std::sqrt(sum_of_products(xr, xr, n) / static_cast<float>(n) + eps);
      for (int64_t i = 0; i < n; ++i) yr[i] = w[i] * (xr[i] * r);
      if (rstd) rstd[row] = r;
    }
  });
}

// dx (when dx is not null) and the weight gradient's partial sums per block of kRowBlock rows
// (when partial is not null: partial[block * n + i]).
void backward_rows(const float* x, const float* w, const float* dy, const float* rstd, float* dx, float* partial,
                   int64_t rows, int64_t n) {
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  at::parallel_for(0, blocks, 1, [&](int64_t first_block, int64_t last_block) {
    std::vector<float> g(static_cast<size_t>(n));
    for (int64_t block = first_block; block < last_block; ++block) {
      float* dw = partial ? partial + block * n : nullptr;
      for (int64_t row = block * kRowBlock; row < std::min(rows, (block + 1) * kRowBlock); ++row) {
        const float* xr = x + row * n;
        const float* dyr = dy + row * n;
        const float r = rstd[row];
        if (dw)
          for (int64_t i = 0; i < n; ++i) dw[i] += dyr[i] * (xr[i] * r);
        if (!dx) continue;
        for (int64_t i = 0; i < n; ++i) g[static_cast<size_t>(i)] = dyr[i] * w[i];
        // mean(g * x r) * r, the coefficient of x in dx
        const float c = sum_of_products(g.data(), xr, n) * r * r * r / static_cast<float>(n);
        float* dxr = dx + row * n;
        for (int64_t i = 0; i < n; ++i) dxr[i] = r * g[static_cast<size_t>(i)] - xr[i] * c;
      }
    }
  });
}

// y for a contiguous float32 x; one r per row into *rstd when rstd is given.
at::Tensor normalize(const at::Tensor& xc, const at::Tensor& weight, double eps, at::Tensor* rstd) {
  RECORD_FUNCTION("lightpeft::rms_norm", std::vector<c10::IValue>({xc}));
  const at::Tensor w = weight.to(at::kFloat).contiguous();
  const int64_t n = xc.size(-1);
  at::Tensor y = at::empty_like(xc);
  forward_rows(xc.const_data_ptr<float>(), w.const_data_ptr<float>(), y.mutable_data_ptr<float>(),
               rstd ? rstd->mutable_data_ptr<float>() : nullptr, xc.numel() / n, n, static_cast<float>(eps));
  return y;
}

class RmsNormFunction : public torch::autograd::Function<RmsNormFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight, double eps) {
    const at::Tensor xc = x.contiguous();
    at::Tensor rstd = at::empty({xc.numel() / xc.size(-1)}, xc.options());
    at::Tensor y = normalize(xc, weight, eps, &rstd);
    ctx->save_for_backward({xc, weight, rstd});
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("lightpeft::rms_norm_backward", std::vector<c10::IValue>({grads[0]}));
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& weight = saved[1];
    const at::Tensor& rstd = saved[2];
    const at::Tensor dy = grads[0].to(at::kFloat).contiguous();
    const at::Tensor w = weight.to(at::kFloat).contiguous();
    const int64_t n = x.size(-1), rows = x.numel() / n;
    const bool want_dx = ctx->needs_input_grad(0), want_dw = ctx->needs_input_grad(1);
    at::Tensor dx = want_dx ? at::empty_like(x) : at::Tensor();
    at::Tensor partial = want_dw ? at::zeros({(rows + kRowBlock - 1) / kRowBlock, n}, x.options()) : at::Tensor();
    backward_rows(x.const_data_ptr<float>(), w.const_data_ptr<float>(), dy.const_data_ptr<float>(),
                  rstd.const_data_ptr<float>(), want_dx ? dx.mutable_data_ptr<float>() : nullptr,
                  want_dw ? partial.mutable_data_ptr<float>() : nullptr, rows, n);
    at::Tensor dw = want_dw ? partial.sum(0).to(weight.scalar_type()) : at::Tensor();
    return {dx, dw, at::Tensor()};
  }
};

bool fused_applies(const at::Tensor& x, const at::Tensor& weight) {
  return x.device().is_cpu() && weight.device().is_cpu() && x.scalar_type() == at::kFloat &&
         (weight.scalar_type() == at::kFloat || weight.scalar_type() == at::kBFloat16) && x.numel() > 0;
}

}  // namespace

namespace reference {

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor h = x.to(at::kFloat);
  const at::Tensor variance = h.pow(2).mean(-1, /*keepdim=*/true);
  h = h * at::rsqrt(variance + eps);
  return weight * h.to(x.scalar_type());
}

}  // namespace reference

at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  LP_CHECK(x.defined() && x.dim() >= 1 && weight.defined() && weight.dim() == 1 && weight.size(0) == x.size(-1),
           "rms_norm: weight of shape ", weight.defined() ? weight.sizes() : at::IntArrayRef{},
           " does not fit x of shape ", x.defined() ? x.sizes() : at::IntArrayRef{}, " (expected (",
           x.defined() && x.dim() >= 1 ? x.size(-1) : 0, "))");
  if (!fused_applies(x, weight)) return reference::rms_norm(x, weight, eps);
  if (c10::GradMode::is_enabled() && (x.requires_grad() || weight.requires_grad()))
    return RmsNormFunction::apply(x, weight, eps);
  return normalize(x.contiguous(), weight, eps, nullptr);  // no graph: no r kept
}

}  // namespace lightpeft::kernels
