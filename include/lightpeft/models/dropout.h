#pragma once
// The models' dropout module, registered where HF's modules have an nn.Dropout ("dropout",
// "lora_dropout", "attention_dropout", ...; no parameters, so no state-dict keys). It computes
// kernels::dropout: on the CPU a keep-mask drawn in parallel (Philox) instead of ATen's serial
// Bernoulli, the same distribution and the same seeding (kernels/dropout.h).
#include <ostream>

#include <torch/nn/module.h>
#include <torch/nn/options/dropout.h>
#include <torch/nn/pimpl.h>

namespace lightpeft {

class DropoutImpl : public torch::nn::Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  torch::Tensor forward(const torch::Tensor& x);
  void pretty_print(std::ostream& stream) const override;
  torch::nn::DropoutOptions options;  // options.p(): the drop probability, in [0, 1]
};
TORCH_MODULE(Dropout);

}  // namespace lightpeft
