#pragma once
// A linear layer pruned by index lists instead of by copying its weight: with `rows` the kept
// output features and `cols` the kept input features of weight (out, in),
//     pruned_linear(x, weight, bias, rows, cols) == Dense::prune(rows, 0), prune(cols, 1), forward(x)
// i.e. x (..., |cols|) -> (..., |rows|), bias[rows] added (bias kept whole when only columns are
// pruned, as HF's prune_linear_layer). A plan can so be applied to (and taken off) a model without
// touching its weights: fast estimate -> finetune switching and evaluating candidate plans.
// CUDA tensors (fp32 or bf16) with an index list: the gather GEMM (kernels/pruned_gemm.h), forward
// and input gradient; weight and bias gradients (rarely wanted: base weights are frozen) are
// scattered back into the full shapes. Without index lists (a physically sliced weight): at::linear,
// i.e. cuBLAS. Anything else: the reference (index_select, then at::linear).
#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace lightpeft::kernels {

// Kept indices along one dim of a weight, checked once: int64, each in [0, extent), on `device`.
// Default-constructed: keep everything. Build one per plan and layer and reuse it: checking
// indices that live on a GPU costs a device sync, which the per-call overload pays every call.
class KeptIndex {
 public:
  KeptIndex() = default;
  // `index` 1-D integral (any device). Throws lightpeft::Error naming `what` for an index outside
  // [0, extent).
  KeptIndex(const at::Tensor& index, int64_t extent, const c10::Device& device,
            const std::string& what = "index");
  bool keeps_all() const { return !index_.defined(); }
  const at::Tensor& tensor() const { return index_; }
  int64_t extent() const { return extent_; }
  // Kept count, or `full` when keeping all.
  int64_t size_or(int64_t full) const { return keeps_all() ? full : index_.numel(); }

 private:
  at::Tensor index_;
  int64_t extent_ = -1;
};

// weight (out, in); bias (out) or undefined; x (..., in_kept).
at::Tensor pruned_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                         const KeptIndex& rows, const KeptIndex& cols);
// The same with plain index tensors (undefined: keep all), checked at every call.
at::Tensor pruned_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                         const at::Tensor& row_index, const at::Tensor& col_index);

namespace reference {
at::Tensor pruned_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                         const KeptIndex& rows, const KeptIndex& cols);
}  // namespace reference

}  // namespace lightpeft::kernels
