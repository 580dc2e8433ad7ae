#pragma once
// Light-PEFT's rank Taylor importance (spec 1.2 b) accumulated in place:
//     sum += rank_taylor_scores(A, B)     (from A.grad(), B.grad(); pruning/rank_importance.h)
// CUDA tensors (fp32 or bf16 weights): one launch per module reading A, dA, B, dB once
// (kernels/importance.h). Anything else: the reference, rank_taylor_scores itself.
// The module norm ratio (spec 1.2 a) is fused into lora_linear (lora_linear.h).
#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// s_i = | mean_j (A * dL/dA)_ij | + | mean_k (B * dL/dB)_ki | for A (r, in), B (out, r) from their
// current .grad() (a missing gradient contributes 0): (r) float32 on the weights' device.
at::Tensor rank_taylor_scores(const at::Tensor& A, const at::Tensor& B);

// A (r, in), B (out, r), sum (r) fp32 on their device. Throws lightpeft::Error for shapes that
// do not fit.
void rank_taylor_accumulate(const at::Tensor& A, const at::Tensor& B, const at::Tensor& sum);

namespace reference {
void rank_taylor_accumulate(const at::Tensor& A, const at::Tensor& B, const at::Tensor& sum);
}  // namespace reference

}  // namespace lightpeft::kernels
