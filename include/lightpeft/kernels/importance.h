#pragma once
// Light-PEFT's rank Taylor importance (spec 1.2 b) accumulated in place:
//     sum += rank_taylor_scores(A, B)     (pruning/rank_importance.h; from A.grad(), B.grad())
// CUDA tensors (fp32 or bf16 weights): one launch per module reading A, dA, B, dB once
// (kernels/importance.h). Anything else: the reference, rank_taylor_scores itself.
// The module norm ratio (spec 1.2 a) is fused into lora_linear (lora_linear.h).
#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// A (r, in), B (out, r), sum (r) fp32 on their device. Throws lightpeft::Error for shapes that
// do not fit.
void rank_taylor_accumulate(const at::Tensor& A, const at::Tensor& B, const at::Tensor& sum);

namespace reference {
void rank_taylor_accumulate(const at::Tensor& A, const at::Tensor& B, const at::Tensor& sum);
}  // namespace reference

}  // namespace lightpeft::kernels
