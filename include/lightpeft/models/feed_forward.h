#pragma once
// The FFN's first half, HF BertIntermediate ("intermediate": dense + activation). The second half
// is a ResidualOutput registered as "output" in the layer.
#include <string>

#include <torch/nn/module.h>

#include "lightpeft/models/linear.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

// Applies a HF `hidden_act` by name (gelu is the exact erf form, as HF's "gelu").
torch::Tensor apply_activation(const std::string& name, const torch::Tensor& x);

class IntermediateImpl : public torch::nn::Module, public LinearHost {
 public:
  IntermediateImpl(const ModelConfig& config, int64_t intermediate_size);
  torch::Tensor forward(const torch::Tensor& x);
  const std::string& activation() const { return activation_; }  // HF hidden_act

  LinearPtr dense;

 private:
  std::string activation_;
};
TORCH_MODULE(Intermediate);

}  // namespace lightpeft
