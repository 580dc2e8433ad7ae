#include "lightpeft/kernels/short_attention.h"

#include <optional>

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/matmul.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "lightpeft/core/error.h"
#include "vec_math.h"

namespace lightpeft::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// Where the additive mask row of a score row starts: rows are (b, kv, g, t) in order, the mask
// (B or 1, 1, T or 1, S) contiguous.
struct MaskRows {
  const float* data = nullptr;  // null: no mask
  int64_t rows_per_batch = 1, queries = 1, batch_stride = 0, keys = 0;
  const float* row(int64_t r) const {
    return data ? data + (r / rows_per_batch) * batch_stride + (r % queries) * keys : nullptr;
  }
};

// Scores to probabilities in place, row by row: x = scaling * x + mask, then softmax.
template <int W>
LP_VEC_INLINE void softmax_body(float* scores, int64_t begin, int64_t end, int64_t n, const MaskRows* mask,
                                float scaling) {
  const int64_t body = n - n % W;
  for (int64_t r = begin; r < end; ++r) {
    float* x = scores + r * n;
    const float* m = mask->row(r);
    if (m) {
      for (int64_t i = 0; i < body; i += W) vec::store<W>(x + i, vec::load<W>(x + i) * scaling + vec::load<W>(m + i));
      for (int64_t i = body; i < n; ++i) x[i] = x[i] * scaling + m[i];
    } else {
      vec::scale_row<W>(x, n, scaling);
    }
    const float mx = vec::row_max<W>(x, n);
    const float sum = vec::exp_shifted_sum<W>(x, n, mx);
    vec::scale_row<W>(x, n, 1.0f / sum);
  }
}

// dP to dS in place, row by row: dS = P * (dP - sum(P * dP)) * scaling.
template <int W>
LP_VEC_INLINE void softmax_backward_body(const float* probs, float* grad, int64_t begin, int64_t end, int64_t n,
                                         float scaling) {
  using F = typename vec::Lanes<W>::F;
  const int64_t body = n - n % W;
  for (int64_t r = begin; r < end; ++r) {
    const float* p = probs + r * n;
    float* g = grad + r * n;
    F acc = vec::broadcast<W>(0.0f);
    for (int64_t i = 0; i < body; i += W) acc += vec::load<W>(p + i) * vec::load<W>(g + i);
    float dot = vec::reduce_add<W>(acc);
    for (int64_t i = body; i < n; ++i) dot += p[i] * g[i];
    for (int64_t i = 0; i < body; i += W)
      vec::store<W>(g + i, vec::load<W>(p + i) * (vec::load<W>(g + i) - dot) * scaling);
    for (int64_t i = body; i < n; ++i) g[i] = p[i] * (g[i] - dot) * scaling;
  }
}

LP_VEC_DISPATCH(softmax_rows, softmax_body,
                (float* scores, int64_t begin, int64_t end, int64_t n, const MaskRows* mask, float scaling),
                (scores, begin, end, n, mask, scaling))
LP_VEC_DISPATCH(softmax_backward_rows, softmax_backward_body,
                (const float* probs, float* grad, int64_t begin, int64_t end, int64_t n, float scaling),
                (probs, grad, begin, end, n, scaling))

// Query rows of a group stacked: (B, H, T, d) -> (B, KV, G * T, d), contiguous.
at::Tensor grouped_rows(const at::Tensor& x, int64_t kv) {
  return x.contiguous().view({x.size(0), kv, -1, x.size(3)});
}

// P = softmax(scaling * qg k^T + mask) for grouped queries qg (B, KV, G T, d).
at::Tensor probabilities(const at::Tensor& qg, const at::Tensor& k, const at::Tensor& mask, double scaling) {
  at::Tensor scores = at::matmul(qg, k.transpose(-1, -2));  // (B, KV, G T, S), contiguous
  const at::Tensor m = mask.defined() ? mask.contiguous() : mask;
  MaskRows rows;
  if (m.defined()) {
    rows.data = m.const_data_ptr<float>();
    rows.rows_per_batch = qg.size(1) * qg.size(2);
    rows.queries = m.size(2);
    rows.batch_stride = m.size(0) == 1 ? 0 : m.stride(0);
    rows.keys = m.size(3);
  }
  float* s = scores.mutable_data_ptr<float>();
  const int64_t n = scores.size(-1);
  at::parallel_for(0, scores.numel() / n, 64, [&](int64_t begin, int64_t end) {
    softmax_rows(s, begin, end, n, &rows, static_cast<float>(scaling));
  });
  return scores;
}

// The dtype LibTorch's attention would compute in: autocast's under autocast (it casts q, k, v),
// else q's.
c10::ScalarType compute_dtype(const at::Tensor& q) {
  return at::autocast::is_autocast_enabled(at::kCPU) ? at::autocast::get_autocast_dtype(at::kCPU) : q.scalar_type();
}

class ShortAttentionFunction : public torch::autograd::Function<ShortAttentionFunction> {
 public:
  // The mask travels as an optional: autograd's bookkeeping of tensor arguments needs defined ones.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const std::optional<at::Tensor>& mask, double scaling) {
    RECORD_FUNCTION("lightpeft::short_attention", std::vector<c10::IValue>({q}));
    const at::Tensor qg = grouped_rows(q, k.size(1)), kc = k.contiguous(), vc = v.contiguous();
    const at::Tensor probs = probabilities(qg, kc, mask.value_or(at::Tensor()), scaling);
    ctx->save_for_backward({qg, kc, vc, probs});
    ctx->saved_data["scaling"] = scaling;
    return at::matmul(probs, vc).view(q.sizes());
  }

  // forward runs under short_attention's guard against autocast; the backward needs its own (it may
  // run inside an autocast scope, and its products are float32).
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("lightpeft::short_attention_backward", std::vector<c10::IValue>({grads[0]}));
    c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &qg = saved[0], &k = saved[1], &v = saved[2], &probs = saved[3];
    const double scaling = ctx->saved_data["scaling"].toDouble();
    const at::Tensor dout = grouped_rows(grads[0], k.size(1));
    at::Tensor dv = at::matmul(probs.transpose(-1, -2), dout);
    at::Tensor ds = at::matmul(dout, v.transpose(-1, -2));  // dP, turned into dS in place
    const int64_t n = ds.size(-1);
    const float* p = probs.const_data_ptr<float>();
    float* g = ds.mutable_data_ptr<float>();
    at::parallel_for(0, ds.numel() / n, 64, [&](int64_t begin, int64_t end) {
      softmax_backward_rows(p, g, begin, end, n, static_cast<float>(scaling));
    });
    at::Tensor dq = at::matmul(ds, k).view(grads[0].sizes());
    at::Tensor dk = at::matmul(ds.transpose(-1, -2), qg);
    return {dq, dk, dv, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

bool short_attention_applies(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  const auto dtype = compute_dtype(q);
  const bool reduced = dtype == at::kBFloat16 || dtype == at::kHalf;
  if (dtype != at::kFloat && !reduced) return false;
  // bf16/fp16 only with a graph: the flash kernel's forward is fast in bf16, its backward is not.
  if (reduced && !(c10::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad())))
    return false;
  for (const at::Tensor* t : {&q, &k, &v}) {
    if (!t->device().is_cpu() || !at::isFloatingType(t->scalar_type())) return false;
    if (t->scalar_type() != dtype && !at::autocast::is_autocast_enabled(at::kCPU)) return false;
  }
  if (mask.defined() && (!mask.device().is_cpu() || !at::isFloatingType(mask.scalar_type()) || mask.requires_grad()))
    return false;
  return k.dim() == 4 && k.size(2) <= kShortAttentionMaxKeys && q.numel() > 0 && k.numel() > 0;
}

at::Tensor short_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask,
                           double scaling, int64_t heads_per_kv) {
  LP_CHECK(q.dim() == 4 && k.dim() == 4 && v.sizes() == k.sizes() && heads_per_kv >= 1 && q.size(0) == k.size(0) &&
               q.size(1) == k.size(1) * heads_per_kv && q.size(3) == k.size(3),
           "short_attention: q ", q.sizes(), " does not fit k/v ", k.sizes(), " with ", heads_per_kv,
           " query heads per KV head (expected q (B, KV * heads, T, d), k and v (B, KV, S, d))");
  LP_CHECK(!mask.defined() || (mask.dim() == 4 && (mask.size(0) == 1 || mask.size(0) == q.size(0)) &&
                               mask.size(1) == 1 && (mask.size(2) == 1 || mask.size(2) == q.size(2)) &&
                               mask.size(3) == k.size(2)),
           "short_attention: mask of shape ", mask.defined() ? mask.sizes() : at::IntArrayRef{}, " (expected (",
           q.size(0), " or 1, 1, ", q.size(2), " or 1, ", k.size(2), "))");
  LP_CHECK(short_attention_applies(q, k, v, mask), "short_attention: float32 CPU tensors (bf16/fp16 with gradients) with at most ",
           kShortAttentionMaxKeys, " keys only (got ", k.size(2), " keys, ", q.scalar_type(), " on ", q.device(), ")");
  const auto dtype = compute_dtype(q);
  // The products below are spelled out in float32; autocast must not cast them.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  // In a lower dtype: the inputs rounded to it, as LibTorch's attention under autocast would read
  // them, then computed in float32 as its softmax; the context returned in that dtype, as it does.
  auto as_float = [&](const at::Tensor& t) {
    if (!t.defined()) return t;
    return dtype != at::kFloat ? t.to(dtype).to(at::kFloat) : t.to(at::kFloat);
  };
  const at::Tensor qf = as_float(q), kf = as_float(k), vf = as_float(v), mf = as_float(mask);
  at::Tensor context;
  if (c10::GradMode::is_enabled() && (qf.requires_grad() || kf.requires_grad() || vf.requires_grad())) {
    context = ShortAttentionFunction::apply(qf, kf, vf, mf.defined() ? std::optional<at::Tensor>(mf) : std::nullopt,
                                            scaling);
  } else {
    RECORD_FUNCTION("lightpeft::short_attention", std::vector<c10::IValue>({q}));
    context = at::matmul(probabilities(grouped_rows(qf, kf.size(1)), kf.contiguous(), mf, scaling), vf.contiguous())
                  .view(q.sizes());
  }
  return dtype != at::kFloat ? context.to(dtype) : context;
}

}  // namespace lightpeft::kernels
