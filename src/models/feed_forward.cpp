#include "lightpeft/models/feed_forward.h"

#include <ATen/ops/gelu.h>
#include <ATen/ops/relu.h>
#include <ATen/ops/silu.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

torch::Tensor apply_activation(const std::string& name, const torch::Tensor& x) {
  if (name == "gelu") return at::gelu(x);
  if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");
  if (name == "relu") return at::relu(x);
  if (name == "silu" || name == "swish") return at::silu(x);
  throw_error("unsupported activation '", name, "'");
}

IntermediateImpl::IntermediateImpl(const ModelConfig& c, int64_t intermediate_size)
    : activation_(c.hidden_act) {
  register_linear(*this, "dense", &dense,
                  std::make_shared<DenseImpl>(c.hidden_size, intermediate_size));
}

torch::Tensor IntermediateImpl::forward(const torch::Tensor& x) {
  return apply_activation(activation_, dense->forward(x));
}

}  // namespace lightpeft
