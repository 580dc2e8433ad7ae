#include "lightpeft/kernels/pruned_linear.h"

#include <ATen/ops/index_select.h>
#include <ATen/ops/linear.h>

#include "lightpeft/core/error.h"

#ifdef LIGHTPEFT_WITH_CUDA
#include <ATen/ops/empty.h>
#include <ATen/ops/index_add.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <torch/csrc/autograd/custom_function.h>

#include "cuda_bridge.h"
#endif

namespace lightpeft::kernels {

KeptIndex::KeptIndex(const at::Tensor& index, int64_t extent, const c10::Device& device,
                     const std::string& what)
    : extent_(extent) {
  LP_CHECK(index.defined(), what, ": expected a 1-D integer index tensor, got an undefined one");
  LP_CHECK(index.dim() == 1 && at::isIntegralType(index.scalar_type(), /*includeBool=*/false),
           what, ": expected a 1-D integer index tensor, got ", index.scalar_type(), " of shape ",
           index.sizes());
  LP_CHECK(extent >= 0, what, ": negative extent ", extent);
  // Checked on the host once: indices on a GPU cost one copy (a sync) here, never per call.
  auto host = index.to(at::kCPU, at::kLong).contiguous();
  const int64_t* p = host.data_ptr<int64_t>();
  for (int64_t i = 0; i < host.numel(); ++i)
    LP_CHECK(p[i] >= 0 && p[i] < extent, what, ": index ", p[i], " at position ", i,
             " is out of range [0, ", extent, ")");
  index_ = host.to(device);
}

namespace {

void check_arguments(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                     const KeptIndex& rows, const KeptIndex& cols) {
  LP_CHECK(weight.defined() && weight.dim() == 2,
           "pruned_linear: expected weight of shape (out, in), got ",
           weight.defined() ? weight.sizes() : at::IntArrayRef{});
  if (bias.defined())
    LP_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "pruned_linear: bias of shape ",
             bias.sizes(), " does not fit weight of shape ", weight.sizes());
  for (const auto* index : {&rows, &cols}) {
    if (index->keeps_all()) continue;
    const int64_t dim = index == &rows ? 0 : 1;
    LP_CHECK(index->extent() == weight.size(dim), "pruned_linear: the ",
             dim == 0 ? "row" : "column", " index was checked against extent ", index->extent(),
             ", but weight has ", weight.size(dim), dim == 0 ? " rows" : " columns");
    LP_CHECK(index->tensor().device() == weight.device(), "pruned_linear: the ",
             dim == 0 ? "row" : "column", " index is on ", index->tensor().device(),
             ", weight on ", weight.device());
  }
  const int64_t in_kept = cols.size_or(weight.size(1));
  LP_CHECK(x.defined() && x.dim() >= 1 && x.size(-1) == in_kept, "pruned_linear: x of shape ",
           x.defined() ? x.sizes() : at::IntArrayRef{}, " does not fit ", in_kept,
           " kept input features");
}

}  // namespace

namespace reference {

at::Tensor pruned_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                         const KeptIndex& rows, const KeptIndex& cols) {
  check_arguments(x, weight, bias, rows, cols);
  // Dense::prune (index_select along each pruned dim, the bias along the rows), then forward.
  at::Tensor w = weight, b = bias;
  if (!rows.keeps_all()) {
    w = at::index_select(w, 0, rows.tensor());
    if (b.defined()) b = at::index_select(b, 0, rows.tensor());
  }
  if (!cols.keeps_all()) w = at::index_select(w, 1, cols.tensor());
  return at::linear(x, w, b);
}

}  // namespace reference

#ifdef LIGHTPEFT_WITH_CUDA
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const int64_t* index_ptr(const at::Tensor& index) {
  return index.defined() ? index.data_ptr<int64_t>() : nullptr;
}

class PrunedLinearFunction : public torch::autograd::Function<PrunedLinearFunction> {
 public:
  // rows, cols: int64 on the device, or undefined (keep all).
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& weight,
                            const at::Tensor& bias, const at::Tensor& rows,
                            const at::Tensor& cols) {
    bridge::NoAutocast no_autocast;
    c10::cuda::CUDAGuard device(x.device());
    auto w = weight.contiguous();
    auto b = bias.defined() ? bias.contiguous() : bias;
    const int64_t N = rows.defined() ? rows.numel() : w.size(0);
    const int64_t K = cols.defined() ? cols.numel() : w.size(1);
    auto x2 = x.reshape({-1, K}).contiguous();
    const int64_t M = x2.size(0);
    auto y = at::empty({M, N}, x2.options());
    gpu::GatheredMatrix gathered;
    gathered.ptr = w.data_ptr();
    gathered.stride_n = w.size(1);  // W (out, in) row-major: n is an output row, k an input column
    gathered.stride_k = 1;
    gathered.n_index = index_ptr(rows);
    gathered.k_index = index_ptr(cols);
    bridge::check(gpu::pruned_gemm(bridge::dtype_of(x2), M, N, K, x2.data_ptr(), K, gathered,
                                   b.defined() ? b.data_ptr() : nullptr, index_ptr(rows),
                                   y.data_ptr(), N, bridge::stream_of(x2)),
                  "pruned_linear (gather GEMM)");
    ctx->save_for_backward({x2, w, rows, cols});
    ctx->saved_data["x_sizes"] = x.sizes().vec();
    ctx->saved_data["has_bias"] = bias.defined();
    auto out_sizes = x.sizes().vec();
    out_sizes.back() = N;
    return y.view(out_sizes);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    bridge::NoAutocast no_autocast;
    const auto saved = ctx->get_saved_variables();
    const auto &x2 = saved[0], &w = saved[1], &rows = saved[2], &cols = saved[3];
    c10::cuda::CUDAGuard device(x2.device());
    const int64_t M = x2.size(0), K = x2.size(1);
    const int64_t N = rows.defined() ? rows.numel() : w.size(0);
    auto dy = grads[0].reshape({M, N}).to(x2.scalar_type()).contiguous();
    at::Tensor dx, dw, db;
    if (ctx->needs_input_grad(0)) {
      // dx = dy W[rows][:, cols]: element (n = kept column j, k = kept row i) of the gathered B
      // is W[rows[i], cols[j]], so the index lists swap roles and W is read along its columns.
      dx = at::empty({M, K}, x2.options());
      gpu::GatheredMatrix gathered;
      gathered.ptr = w.data_ptr();
      gathered.stride_n = 1;
      gathered.stride_k = w.size(1);
      gathered.n_index = index_ptr(cols);
      gathered.k_index = index_ptr(rows);
      bridge::check(gpu::pruned_gemm(bridge::dtype_of(x2), M, K, N, dy.data_ptr(), N, gathered,
                                     nullptr, nullptr, dx.data_ptr(), K, bridge::stream_of(x2)),
                    "pruned_linear backward (gather GEMM)");
      dx = dx.view(ctx->saved_data["x_sizes"].toIntVector());
    }
    if (ctx->needs_input_grad(1)) {
      // Scattered into the full weight, as index_select's backward (index_add) does.
      auto kept = at::mm(dy.t(), x2);  // (N, K)
      if (cols.defined())
        kept = at::zeros({N, w.size(1)}, kept.options()).index_add_(1, cols, kept);
      dw = rows.defined() ? at::zeros_like(w).index_add_(0, rows, kept) : kept;
    }
    if (ctx->saved_data["has_bias"].toBool() && ctx->needs_input_grad(2)) {
      auto kept = dy.sum(0);
      db = rows.defined() ? at::zeros({w.size(0)}, kept.options()).index_add_(0, rows, kept) : kept;
    }
    return {dx, dw, db, {}, {}};
  }
};

}  // namespace
#endif  // LIGHTPEFT_WITH_CUDA

at::Tensor pruned_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                         const KeptIndex& rows, const KeptIndex& cols) {
  check_arguments(x, weight, bias, rows, cols);
#ifdef LIGHTPEFT_WITH_CUDA
  const bool gathers = !rows.keeps_all() || !cols.keeps_all();
  if (gathers && x.is_cuda() && weight.device() == x.device() && x.numel() > 0 &&
      (!bias.defined() || bias.device() == x.device())) {
    // Under autocast at::linear computes in the autocast dtype: so does the kernel. Without it,
    // mixed dtypes are the reference's error to report.
    const auto autocast = bridge::cuda_autocast_dtype();
    const auto dtype = autocast.value_or(x.scalar_type());
    const bool same = autocast || (weight.scalar_type() == dtype &&
                                   (!bias.defined() || bias.scalar_type() == dtype));
    if (bridge::kernel_dtype(dtype) && same)
      return PrunedLinearFunction::apply(bridge::cast(x, dtype), bridge::cast(weight, dtype),
                                         bridge::cast(bias, dtype), rows.tensor(), cols.tensor());
  }
#endif
  // No index list: the physically sliced weight, i.e. at::linear (cuBLAS on CUDA).
  return reference::pruned_linear(x, weight, bias, rows, cols);
}

at::Tensor pruned_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& row_index, const at::Tensor& col_index) {
  LP_CHECK(weight.defined() && weight.dim() == 2,
           "pruned_linear: expected weight of shape (out, in)");
  const KeptIndex rows = row_index.defined()
                             ? KeptIndex(row_index, weight.size(0), weight.device(),
                                         "pruned_linear: row_index")
                             : KeptIndex();
  const KeptIndex cols = col_index.defined()
                             ? KeptIndex(col_index, weight.size(1), weight.device(),
                                         "pruned_linear: col_index")
                             : KeptIndex();
  return pruned_linear(x, weight, bias, rows, cols);
}

}  // namespace lightpeft::kernels
