#pragma once
// The FFN activation with Light-PEFT's neuron mask (spec 1.1), on the output h of the first FFN
// linear (intermediate.dense), as TransformerLayer::forward computes it:
//     y = act(h) * neuron_mask        (neuron_mask (1, d_ff) as NeuronMask, or (d_ff))
// CUDA tensors (fp32 or bf16): one fused epilogue pass forward, one backward giving dh and
// d neuron_mask (kernels/masked_ffn.h). Anything else: the reference, apply_activation (the
// model's) times the mask. `activation` is the HF hidden_act name: gelu, gelu_new,
// gelu_pytorch_tanh, relu, silu, swish.
#include <string>

#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// Throws lightpeft::Error for a mask whose size is not h's last dim, or an unknown activation.
at::Tensor masked_activation(const at::Tensor& h, const at::Tensor& neuron_mask,
                             const std::string& activation);

namespace reference {
at::Tensor masked_activation(const at::Tensor& h, const at::Tensor& neuron_mask,
                             const std::string& activation);
}  // namespace reference

}  // namespace lightpeft::kernels
