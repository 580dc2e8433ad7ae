#include "lightpeft/models/norms.h"

#include <ATen/ops/ones.h>

#include "lightpeft/kernels/rms_norm.h"

namespace lightpeft {

RmsNormImpl::RmsNormImpl(int64_t hidden_size, double eps) : eps_(eps) {
  weight = register_parameter("weight", at::ones({hidden_size}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) { return kernels::rms_norm(x, weight, eps_); }

}  // namespace lightpeft
