#pragma once
// A LoRA linear in one operation, as LoraLinear::forward computes it (src/peft/lora_linear.cpp):
//     y = x W^T + b + scaling * (x_lora A^T) B^T         x_lora = lora_dropout(x) (or x)
// with A = lora_A (r, in) and B = lora_B (out, r); r = 0 (A, B undefined) is the base linear.
// CUDA tensors (fp32 or bf16, also under bf16 autocast): cuBLAS for the base GEMM (bias epilogue)
// and the rank-r GEMMs, the low-rank update added to y in one fused pass (kernels/fused_lora.h);
// backward with cuBLAS, the two input-gradient terms accumulated in one GEMM (beta = 1), and only
// the gradients that are needed. Anything else: the reference (the model's code).
//
// Module importance (spec 1.2 a) rides along when `ratio` is given: the forward adds
// sum over tokens of ||delta|| / ||W x + b|| to ratio->ratio_sum and the token count to
// ratio->token_count, as ModuleImportance::observe does, the fused path from norms computed in the
// same pass that adds the update.
#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

struct ModuleRatioSink {
  at::Tensor token_mask;   // (B, T) bool for x (B, T, in), or undefined: every position counts
  at::Tensor ratio_sum;    // fp32 one-element tensor (e.g. a select() of a device buffer), updated in place
  at::Tensor token_count;  // likewise
};

// Throws lightpeft::Error for shapes that do not fit.
at::Tensor lora_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                       const at::Tensor& lora_A, const at::Tensor& lora_B, double scaling,
                       const at::Tensor& x_lora = {}, const ModuleRatioSink* ratio = nullptr);

namespace reference {
at::Tensor lora_linear(const at::Tensor& x, const at::Tensor& weight, const at::Tensor& bias,
                       const at::Tensor& lora_A, const at::Tensor& lora_B, double scaling,
                       const at::Tensor& x_lora = {}, const ModuleRatioSink* ratio = nullptr);
}  // namespace reference

}  // namespace lightpeft::kernels
