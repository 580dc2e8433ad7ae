#include "lightpeft/kernels/swiglu.h"

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/silu.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "lightpeft/core/error.h"
#include "vec_math.h"

namespace lightpeft::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Elements per parallel task: a few hundred KiB of each operand.
constexpr int64_t kGrain = 32768;

// Runs Step::apply on W lanes at a time; the last n % W elements go through a W-wide scratch copy,
// so that every element takes the same arithmetic (the result does not depend on where a chunk
// starts). Step is a struct, not a lambda: a lambda would not be compiled for the caller's target.
template <int W, int In, int Out, typename Step>
LP_VEC_INLINE void for_each_lanes(const float* const (&in)[In], float* const (&out)[Out], int64_t n) {
  using F = typename vec::Lanes<W>::F;
  int64_t i = 0;
  for (; i + W <= n; i += W) {
    F x[In], y[Out];
    for (int k = 0; k < In; ++k) x[k] = vec::load<W>(in[k] + i);
    Step::apply(x, y);
    for (int k = 0; k < Out; ++k) vec::store<W>(out[k] + i, y[k]);
  }
  if (i == n) return;
  float scratch_in[In][W] = {}, scratch_out[Out][W];
  for (int k = 0; k < In; ++k)
    for (int64_t j = i; j < n; ++j) scratch_in[k][j - i] = in[k][j];
  F x[In], y[Out];
  for (int k = 0; k < In; ++k) x[k] = vec::load<W>(scratch_in[k]);
  Step::apply(x, y);
  for (int k = 0; k < Out; ++k) {
    vec::store<W>(scratch_out[k], y[k]);
    for (int64_t j = i; j < n; ++j) out[k][j] = scratch_out[k][j - i];
  }
}

// (gate, up) -> silu(gate) * up, with ATen's silu: x / (1 + exp(-x)).
template <int W>
struct ForwardStep {
  using F = typename vec::Lanes<W>::F;
  static LP_VEC_INLINE void apply(const F (&x)[2], F (&r)[1]) { r[0] = x[0] / (1.0f + vec::exp<W>(-x[0])) * x[1]; }
};

// (dy, gate, up) -> (dgate, dup), dgate by ATen's silu_backward on dy * up.
template <int W>
struct BackwardStep {
  using F = typename vec::Lanes<W>::F;
  static LP_VEC_INLINE void apply(const F (&x)[3], F (&r)[2]) {
    const F e = 1.0f + vec::exp<W>(-x[1]);
    const F s = 1.0f / e;
    r[0] = x[0] * x[2] * (s * (1.0f + x[1] * (1.0f - s)));
    r[1] = x[0] * (x[1] / e);
  }
};

template <int W>
LP_VEC_INLINE void forward_body(const float* gate, const float* up, float* y, int64_t n) {
  const float* const in[2] = {gate, up};
  float* const out[1] = {y};
  for_each_lanes<W, 2, 1, ForwardStep<W>>(in, out, n);
}

template <int W>
LP_VEC_INLINE void backward_body(const float* dy, const float* gate, const float* up, float* dgate, float* dup,
                                 int64_t n) {
  const float* const in[3] = {dy, gate, up};
  float* const out[2] = {dgate, dup};
  for_each_lanes<W, 3, 2, BackwardStep<W>>(in, out, n);
}

// bf16 gate and up, no graph (inference under autocast): ATen's composite rounds silu(gate) to bf16
// and the product to bf16; so does this, element for element.
template <int W>
LP_VEC_INLINE typename vec::Lanes<W>::F silu_mul_rounded(typename vec::Lanes<W>::F g, typename vec::Lanes<W>::F u) {
  return vec::round_bf16<W>(g / (1.0f + vec::exp<W>(-g))) * u;
}

template <int W>
LP_VEC_INLINE void forward_bf16_body(const uint16_t* gate, const uint16_t* up, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + W <= n; i += W) vec::store_bf16<W>(y + i, silu_mul_rounded<W>(vec::load_bf16<W>(gate + i), vec::load_bf16<W>(up + i)));
  if (i == n) return;
  uint16_t g[W] = {}, u[W] = {}, out[W];
  for (int64_t j = i; j < n; ++j) {
    g[j - i] = gate[j];
    u[j - i] = up[j];
  }
  vec::store_bf16<W>(out, silu_mul_rounded<W>(vec::load_bf16<W>(g), vec::load_bf16<W>(u)));
  for (int64_t j = i; j < n; ++j) y[j] = out[j - i];
}

LP_VEC_DISPATCH(forward_bf16_span, forward_bf16_body, (const uint16_t* gate, const uint16_t* up, uint16_t* y, int64_t n),
                (gate, up, y, n))
LP_VEC_DISPATCH(forward_span, forward_body, (const float* gate, const float* up, float* y, int64_t n),
                (gate, up, y, n))
LP_VEC_DISPATCH(backward_span, backward_body,
                (const float* dy, const float* gate, const float* up, float* dgate, float* dup, int64_t n),
                (dy, gate, up, dgate, dup, n))

at::Tensor forward(const at::Tensor& gate, const at::Tensor& up) {
  RECORD_FUNCTION("lightpeft::silu_mul", std::vector<c10::IValue>({gate, up}));
  at::Tensor y = at::empty_like(gate, at::MemoryFormat::Contiguous);
  const float* g = gate.const_data_ptr<float>();
  const float* u = up.const_data_ptr<float>();
  float* out = y.mutable_data_ptr<float>();
  at::parallel_for(0, gate.numel(), kGrain, [&](int64_t begin, int64_t end) {
    forward_span(g + begin, u + begin, out + begin, end - begin);
  });
  return y;
}

at::Tensor forward_bf16(const at::Tensor& gate, const at::Tensor& up) {
  RECORD_FUNCTION("lightpeft::silu_mul", std::vector<c10::IValue>({gate, up}));
  at::Tensor y = at::empty_like(gate, at::MemoryFormat::Contiguous);
  const auto* g = reinterpret_cast<const uint16_t*>(gate.const_data_ptr<at::BFloat16>());
  const auto* u = reinterpret_cast<const uint16_t*>(up.const_data_ptr<at::BFloat16>());
  auto* out = reinterpret_cast<uint16_t*>(y.mutable_data_ptr<at::BFloat16>());
  at::parallel_for(0, gate.numel(), kGrain, [&](int64_t begin, int64_t end) {
    forward_bf16_span(g + begin, u + begin, out + begin, end - begin);
  });
  return y;
}

class SiluMulFunction : public torch::autograd::Function<SiluMulFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& gate, const at::Tensor& up) {
    const at::Tensor g = gate.contiguous(), u = up.contiguous();
    ctx->save_for_backward({g, u});
    return kernels::forward(g, u);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("lightpeft::silu_mul_backward", std::vector<c10::IValue>({grads[0]}));
    const auto saved = ctx->get_saved_variables();
    const at::Tensor dy = grads[0].contiguous();
    at::Tensor dgate = at::empty_like(saved[0]), dup = at::empty_like(saved[1]);
    const float* pdy = dy.const_data_ptr<float>();
    const float* g = saved[0].const_data_ptr<float>();
    const float* u = saved[1].const_data_ptr<float>();
    float* pdg = dgate.mutable_data_ptr<float>();
    float* pdu = dup.mutable_data_ptr<float>();
    at::parallel_for(0, dy.numel(), kGrain, [&](int64_t begin, int64_t end) {
      backward_span(pdy + begin, g + begin, u + begin, pdg + begin, pdu + begin, end - begin);
    });
    return {ctx->needs_input_grad(0) ? dgate : at::Tensor(), ctx->needs_input_grad(1) ? dup : at::Tensor()};
  }
};

bool fused_applies(const at::Tensor& gate, const at::Tensor& up) {
  return gate.device().is_cpu() && up.device().is_cpu() && gate.scalar_type() == at::kFloat &&
         up.scalar_type() == at::kFloat && gate.numel() > 0;
}

}  // namespace

namespace reference {

at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up) { return at::silu(gate) * up; }

}  // namespace reference

at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up) {
  LP_CHECK(gate.defined() && up.defined() && gate.sizes() == up.sizes(), "silu_mul: gate of shape ",
           gate.defined() ? gate.sizes() : at::IntArrayRef{}, " and up of shape ",
           up.defined() ? up.sizes() : at::IntArrayRef{}, " differ");
  const bool graph = c10::GradMode::is_enabled() && (gate.requires_grad() || up.requires_grad());
  if (!graph && gate.device().is_cpu() && up.device().is_cpu() && gate.scalar_type() == at::kBFloat16 &&
      up.scalar_type() == at::kBFloat16 && gate.numel() > 0)
    return forward_bf16(gate.contiguous(), up.contiguous());
  if (!fused_applies(gate, up)) return reference::silu_mul(gate, up);
  if (graph) return SiluMulFunction::apply(gate, up);
  return forward(gate.contiguous(), up.contiguous());
}

}  // namespace lightpeft::kernels
