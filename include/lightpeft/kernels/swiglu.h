#pragma once
// SwiGLU's product, silu(gate) * up (the MLP of the LLaMA family), in one pass on the CPU:
//
//     y = gate / (1 + exp(-gate)) * up
//     dup = dy * silu(gate),   dgate = dy * up * s * (1 + gate * (1 - s)),   s = 1 / (1 + exp(-gate))
//
// ATen's composite (silu, then a multiply) walks the activations twice forward and three times
// backward and keeps gate, silu(gate) and up for autograd; this keeps gate and up and walks them
// once each way (SmolLM2's 30 MLPs at batch 8 x 128: 1.5 M elements a layer). The exp is a
// vectorised Cephes polynomial (src/kernels/vec_math.h) where ATen uses Sleef's: outputs agree with
// the composite to a few float ulps, not bit for bit. Float32 tensors of one shape on the CPU;
// bf16 ones without a graph (inference under autocast: silu(gate) and the product each rounded to
// bf16, as the composite rounds them); anything else (CUDA, bf16 training) runs the composite.
#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// Throws lightpeft::Error unless gate and up have the same shape.
at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up);

namespace reference {
// ATen's composite: at::silu(gate) * up.
at::Tensor silu_mul(const at::Tensor& gate, const at::Tensor& up);
}  // namespace reference

}  // namespace lightpeft::kernels
