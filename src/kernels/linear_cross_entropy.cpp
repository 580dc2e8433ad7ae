#include "lightpeft/kernels/linear_cross_entropy.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/autocast_mode.h>
#include <ATen/ops/cross_entropy_loss.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/scalar_tensor.h>
#include <ATen/ops/zeros.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/csrc/autograd/custom_function.h>

#include "lightpeft/core/error.h"
#include "vec_math.h"

namespace lightpeft::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// One row of logits turned into its loss term and, in place, its gradient (softmax - one-hot) *
// scale. Three passes over the row (max; exp written back and summed; scaled), all from L2.
template <int W>
LP_VEC_INLINE double row_loss_and_grad(float* x, int64_t n, int64_t target, float scale) {
  const float x_target = x[target];
  const float m = vec::row_max<W>(x, n);
  const float sum = vec::exp_shifted_sum<W>(x, n, m);
  vec::scale_row<W>(x, n, scale / sum);
  x[target] -= scale;
  return std::log(static_cast<double>(sum)) + static_cast<double>(m) - static_cast<double>(x_target);
}

// Rows [0, rows) of a float32 chunk (rows x n): each row's loss term into `terms` (summed later in
// row order, so the loss does not depend on the thread count), its gradient in place.
template <int W>
LP_VEC_INLINE void chunk_body(float* logits, int64_t rows, int64_t n, const int64_t* targets, int64_t ignore_index,
                              float scale, double* terms) {
  for (int64_t r = 0; r < rows; ++r) {
    float* x = logits + r * n;
    if (targets[r] == ignore_index) {
      std::fill(x, x + n, 0.0f);
      terms[r] = 0.0;
    } else {
      terms[r] = row_loss_and_grad<W>(x, n, targets[r], scale);
    }
  }
}

LP_VEC_DISPATCH(chunk_rows, chunk_body,
                (float* logits, int64_t rows, int64_t n, const int64_t* targets, int64_t ignore_index, float scale,
                 double* terms),
                (logits, rows, n, targets, ignore_index, scale, terms))

struct Result {
  at::Tensor loss;         // 0-dim float32
  at::Tensor grad_hidden;  // (N, H) in hidden's dtype, for a loss gradient of 1; undefined unless asked
  at::Tensor grad_weight;  // (V, H) in weight's dtype, likewise
};

Result compute(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets, int64_t ignore_index,
               int64_t chunk_elements, bool want_hidden, bool want_weight) {
  RECORD_FUNCTION("lightpeft::linear_cross_entropy", std::vector<c10::IValue>({hidden, weight}));
  const bool autocast = at::autocast::is_autocast_enabled(at::kCPU);
  const auto dtype = autocast ? at::autocast::get_autocast_dtype(at::kCPU) : weight.scalar_type();
  // The products below are spelled out in `dtype`; autocast must not cast them again.
  c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::autocast_dispatch_keyset);
  const at::Tensor h = hidden.to(dtype).contiguous(), w = weight.to(dtype).contiguous();
  const at::Tensor t = targets.to(at::kLong).contiguous();
  const int64_t N = h.size(0), V = w.size(0);
  const int64_t* target = t.const_data_ptr<int64_t>();
  int64_t count = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (target[i] == ignore_index) continue;
    LP_CHECK(target[i] >= 0 && target[i] < V, "linear_cross_entropy: target ", target[i], " at row ", i,
             " is outside the vocabulary [0, ", V, ") (", ignore_index, " marks a row without a target)");
    ++count;
  }
  const float scale = count > 0 ? 1.0f / static_cast<float>(count) : 0.0f;

  Result r;
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(N, chunk_elements / std::max<int64_t>(V, 1)));
  at::Tensor logits = at::empty({chunk, V}, h.options());
  at::Tensor logits_f = dtype == at::kFloat ? logits : at::empty({chunk, V}, h.options().dtype(at::kFloat));
  at::Tensor grad_h = want_hidden ? at::empty({N, h.size(1)}, h.options()) : at::Tensor();
  at::Tensor grad_w = want_weight ? at::zeros({V, w.size(1)}, h.options().dtype(at::kFloat)) : at::Tensor();
  std::vector<double> terms(static_cast<size_t>(N), 0.0);
  for (int64_t start = 0; start < N; start += chunk) {
    const int64_t rows = std::min(chunk, N - start);
    at::Tensor part = logits.narrow(0, 0, rows), part_f = logits_f.narrow(0, 0, rows);
    const at::Tensor h_part = h.narrow(0, start, rows);
    at::mm_out(part, h_part, w.t());
    if (dtype != at::kFloat) part_f.copy_(part);
    float* base = part_f.mutable_data_ptr<float>();
    at::parallel_for(0, rows, 1, [&](int64_t begin, int64_t end) {
      chunk_rows(base + begin * V, end - begin, V, target + start + begin, ignore_index, scale,
                 terms.data() + start + begin);
    });
    if (!want_hidden && !want_weight) continue;
    if (dtype != at::kFloat) part.copy_(part_f);  // the gradient in the products' dtype, as HF's backward
    if (want_hidden) {
      at::Tensor out = grad_h.narrow(0, start, rows);
      at::mm_out(out, part, w);
    }
    if (want_weight) grad_w.add_(at::mm(part.t(), h_part));
  }
  double sum = 0.0;
  for (double term : terms) sum += term;
  r.loss = at::scalar_tensor(count > 0 ? sum / static_cast<double>(count) : std::nan(""), h.options().dtype(at::kFloat));
  if (want_hidden) r.grad_hidden = grad_h.to(hidden.scalar_type());
  if (want_weight) r.grad_weight = grad_w.to(weight.scalar_type());
  return r;
}

class LinearCrossEntropyFunction : public torch::autograd::Function<LinearCrossEntropyFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& hidden, const at::Tensor& weight,
                            const at::Tensor& targets, int64_t ignore_index, int64_t chunk_elements) {
    Result r = compute(hidden, weight, targets, ignore_index, chunk_elements, hidden.requires_grad(),
                       weight.requires_grad());
    ctx->saved_data["grad_hidden"] = r.grad_hidden;
    ctx->saved_data["grad_weight"] = r.grad_weight;
    return r.loss;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const at::Tensor g = grads[0];
    auto scaled = [&](const char* key) {
      const at::Tensor saved = ctx->saved_data[key].toTensor();
      return saved.defined() ? saved * g.to(saved.scalar_type()) : at::Tensor();
    };
    return {scaled("grad_hidden"), scaled("grad_weight"), at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

namespace reference {

at::Tensor linear_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                int64_t ignore_index) {
  return at::cross_entropy_loss(at::linear(hidden, weight).to(at::kFloat), targets, {}, at::Reduction::Mean,
                                ignore_index);
}

}  // namespace reference

at::Tensor linear_cross_entropy(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& targets,
                                int64_t ignore_index, int64_t chunk_elements) {
  LP_CHECK(hidden.defined() && weight.defined() && targets.defined() && hidden.dim() == 2 && weight.dim() == 2 &&
               targets.dim() == 1 && hidden.size(1) == weight.size(1) && targets.size(0) == hidden.size(0) &&
               !at::isFloatingType(targets.scalar_type()),
           "linear_cross_entropy: expected hidden (N, H), weight (V, H) and integer targets (N), got ",
           hidden.defined() ? hidden.sizes() : at::IntArrayRef{}, ", ", weight.defined() ? weight.sizes() : at::IntArrayRef{},
           " and ", targets.defined() ? targets.sizes() : at::IntArrayRef{});
  if (!hidden.device().is_cpu() || !weight.device().is_cpu() || weight.size(0) == 0)
    return reference::linear_cross_entropy(hidden, weight, targets, ignore_index);
  const bool graph = c10::GradMode::is_enabled() && (hidden.requires_grad() || weight.requires_grad());
  if (graph) return LinearCrossEntropyFunction::apply(hidden, weight, targets.to(at::kCPU), ignore_index, chunk_elements);
  return compute(hidden, weight, targets.to(at::kCPU), ignore_index, chunk_elements, false, false).loss;
}

}  // namespace lightpeft::kernels
