#include "lightpeft/kernels/rotary.h"

#include <optional>

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/empty_strided.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "lightpeft/core/error.h"

namespace lightpeft::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Where row (b, h, t) of a (B, H, T, D) tensor starts, by its strides.
struct Rows {
  const at::Tensor& t;
  int64_t offset(int64_t b, int64_t h, int64_t s) const { return b * t.stride(0) + h * t.stride(1) + s * t.stride(2); }
};

// y = x * cos + rotate_half(x) * sin (transpose = false), or its adjoint dx = x * cos +
// rotate_half^T(x * sin) (transpose = true), for every row of x; `out` has its own strides.
// In and Out: float, or c10::BFloat16 (read widened, written rounded; the products in float).
template <typename In, typename Out>
void rotate_rows(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, at::Tensor& out, bool transpose) {
  const int64_t B = x.size(0), H = x.size(1), T = x.size(2), D = x.size(3), half = D / 2;
  const In* px = x.const_data_ptr<In>();
  const float* pc = cos.const_data_ptr<float>();
  const float* ps = sin.const_data_ptr<float>();
  Out* po = out.mutable_data_ptr<Out>();
  const int64_t cb = cos.size(0) == 1 ? 0 : cos.stride(0), ct = cos.stride(1);
  const int64_t sb = sin.size(0) == 1 ? 0 : sin.stride(0), st = sin.stride(1);
  const Rows xr{x}, orows{out};
  at::parallel_for(0, B * H * T, 256, [&](int64_t begin, int64_t end) {
    for (int64_t row = begin; row < end; ++row) {
      const int64_t b = row / (H * T), h = (row / T) % H, t = row % T;
      const In* xi = px + xr.offset(b, h, t);
      const float* c = pc + b * cb + t * ct;
      const float* s = ps + b * sb + t * st;
      Out* o = po + orows.offset(b, h, t);
      auto at_ = [&](int64_t i) { return static_cast<float>(xi[i]); };
      if (!transpose) {
        for (int64_t i = 0; i < half; ++i) o[i] = static_cast<Out>(at_(i) * c[i] + -at_(i + half) * s[i]);
        for (int64_t i = half; i < D; ++i) o[i] = static_cast<Out>(at_(i) * c[i] + at_(i - half) * s[i]);
      } else {
        for (int64_t i = 0; i < half; ++i) o[i] = static_cast<Out>(at_(i) * c[i] + at_(i + half) * s[i + half]);
        for (int64_t i = half; i < D; ++i) o[i] = static_cast<Out>(at_(i) * c[i] + -(at_(i - half) * s[i - half]));
      }
    }
  });
}

// `out`: where the result goes, with its own strides.
void rotate_into(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin, at::Tensor& out, bool transpose) {
  RECORD_FUNCTION(transpose ? "lightpeft::rotary_backward" : "lightpeft::rotary", std::vector<c10::IValue>({x}));
  const bool bf16_in = x.scalar_type() == at::kBFloat16, bf16_out = out.scalar_type() == at::kBFloat16;
  if (!bf16_in)
    rotate_rows<float, float>(x, cos, sin, out, transpose);
  else if (bf16_out)
    rotate_rows<c10::BFloat16, c10::BFloat16>(x, cos, sin, out, transpose);
  else
    rotate_rows<c10::BFloat16, float>(x, cos, sin, out, transpose);
}

// The output is contiguous (B, H, T, d), the layout attention's products read without a copy, in
// `dtype` (x's unless said).
at::Tensor rotate_forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                          std::optional<c10::ScalarType> dtype = std::nullopt) {
  at::Tensor out = at::empty(x.sizes(), x.options().dtype(dtype.value_or(x.scalar_type())));
  rotate_into(x, cos, sin, out, /*transpose=*/false);
  return out;
}

class RotaryFunction : public torch::autograd::Function<RotaryFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    ctx->save_for_backward({cos, sin});
    // The gradient goes back in x's layout (usually the transposed view of a projection), so the
    // backward of the views before this needs no copy.
    ctx->saved_data["strides"] = x.is_non_overlapping_and_dense() ? c10::IValue(x.strides().vec()) : c10::IValue();
    return rotate_forward(x, cos, sin);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    at::Tensor dy = grads[0];
    if (dy.stride(-1) != 1) dy = dy.contiguous();
    const c10::IValue& strides = ctx->saved_data["strides"];
    at::Tensor dx = strides.isNone() ? at::empty_like(dy) : at::empty_strided(dy.sizes(), strides.toIntVector(), dy.options());
    rotate_into(dy, saved[0], saved[1], dx, /*transpose=*/true);
    return {dx, at::Tensor(), at::Tensor()};
  }
};

// bf16 x (a projection's output under autocast) with float32 cos/sin and no graph (inference): the
// composite's float32 result, rounded to autocast's dtype when autocast is on (the attention would
// cast it so), else kept in float32.
at::Tensor rotate_bf16_forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const bool autocast_bf16 = at::autocast::is_autocast_enabled(at::kCPU) &&
                             at::autocast::get_autocast_dtype(at::kCPU) == at::kBFloat16;
  return rotate_forward(x, cos, sin, autocast_bf16 ? at::kBFloat16 : at::kFloat);
}

bool bf16_forward_applies(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  if (c10::GradMode::is_enabled() && (x.requires_grad() || cos.requires_grad() || sin.requires_grad())) return false;
  if (!x.device().is_cpu() || x.scalar_type() != at::kBFloat16 || x.stride(-1) != 1 || x.numel() == 0) return false;
  for (const at::Tensor* t : {&cos, &sin})
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->stride(-1) != 1) return false;
  return true;
}

bool fused_applies(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  for (const at::Tensor* t : {&x, &cos, &sin})
    if (!t->device().is_cpu() || t->scalar_type() != at::kFloat || t->stride(-1) != 1) return false;
  return x.numel() > 0 && !cos.requires_grad() && !sin.requires_grad();
}

}  // namespace

namespace reference {

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto rotated = at::cat({-x.narrow(-1, half, x.size(-1) - half), x.narrow(-1, 0, half)}, -1);
  return x * cos.unsqueeze(1) + rotated * sin.unsqueeze(1);
}

}  // namespace reference

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  LP_CHECK(x.defined() && cos.defined() && sin.defined() && x.dim() == 4 && cos.dim() == 3 &&
               cos.sizes() == sin.sizes() && x.size(-1) % 2 == 0 && cos.size(-1) == x.size(-1) &&
               cos.size(1) == x.size(2) && (cos.size(0) == x.size(0) || cos.size(0) == 1),
           "apply_rotary: x of shape ", x.defined() ? x.sizes() : at::IntArrayRef{},
           " (batch, heads, seq, even head_dim) does not fit cos/sin of shape ",
           cos.defined() ? cos.sizes() : at::IntArrayRef{}, " / ", sin.defined() ? sin.sizes() : at::IntArrayRef{},
           " (batch or 1, seq, head_dim)");
  if (bf16_forward_applies(x, cos, sin)) return rotate_bf16_forward(x, cos, sin);
  if (!fused_applies(x, cos, sin)) return reference::apply_rotary(x, cos, sin);
  if (c10::GradMode::is_enabled() && x.requires_grad()) return RotaryFunction::apply(x, cos, sin);
  return rotate_forward(x, cos, sin);
}

}  // namespace lightpeft::kernels
