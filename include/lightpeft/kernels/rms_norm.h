#pragma once
// RMSNorm (HF's LlamaRMSNorm) in one pass per row on the CPU:
//
//     y = weight * (x * r),   r = 1 / sqrt(mean(x^2) + eps)   (per row of the last dimension, float32)
//
// ATen's composite (x.pow(2).mean(), + eps, rsqrt, two multiplies) walks the activations six times
// forward and about ten times backward and keeps four of them for autograd: on SmolLM2's 61 norms
// at batch 8 x 128 that was about 70 ms of a 1.9 s fp32 LoRA train step, 21 ms with this kernel
// (bench_decoder_step --profile; docs/benchmarks.md).
// Here the forward reads x once and writes y, keeping only x and one float per row (r) for the
// backward, which reads x and the gradient once and writes dx:
//
//     g = dy * weight,  dx = r * (g - (x r) * mean(g * x r)),  dweight = sum over rows of dy * (x r)
//
// (dweight only when weight requires a gradient, summed in fixed blocks of rows so that it does not
// depend on the thread count). Float32 x on the CPU with a float32 or bf16 weight (the output is
// float32, as ATen's type promotion gives); anything else (CUDA, bf16 activations) runs the
// composite. The sum of squares is taken in another order than ATen's mean: outputs agree with the
// composite to float rounding, not bit for bit.
#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// Throws lightpeft::Error unless weight is 1-D with x's last dimension.
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

namespace reference {
// HF's composite: h = x.float(); h * rsqrt(mean(h^2) + eps); weight * h.to(x.dtype).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);
}  // namespace reference

}  // namespace lightpeft::kernels
