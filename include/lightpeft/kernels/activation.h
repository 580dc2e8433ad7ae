#pragma once
// HF's activation functions by their config name (`hidden_act`, `activation_function`).
#include <string>

#include <ATen/core/Tensor.h>

namespace lightpeft {

// gelu is the exact erf form (HF "gelu"); gelu_new and gelu_pytorch_tanh the tanh approximation;
// relu; silu (also "swish"); tanh. Throws lightpeft::Error for any other name.
at::Tensor apply_activation(const std::string& name, const at::Tensor& x);

}  // namespace lightpeft
