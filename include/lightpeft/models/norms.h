#pragma once
// RMSNorm as HF's LlamaRMSNorm: y = weight * x / sqrt(mean(x^2) + eps), computed in float32 and
// cast back to the input's dtype (registered parameter: "weight"); one pass per row on the CPU
// (kernels/rms_norm.h).
#include <torch/nn/module.h>

namespace lightpeft {

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t hidden_size, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RmsNorm);

}  // namespace lightpeft
