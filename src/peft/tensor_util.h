#pragma once
// Small helpers shared by the PEFT layers (private to src/peft).
#include <ATen/ops/index_select.h>
#include <torch/nn/module.h>

#include "lightpeft/models/linear.h"

namespace lightpeft::peft_detail {

// A bias-free Dense on the device and dtype of `like` (HF PEFT's lora_A/lora_B, adapter_down/up).
inline Dense make_dense(int64_t in, int64_t out, const torch::Tensor& like) {
  Dense d(in, out, /*bias=*/false);
  d->to(like.device(), like.scalar_type());
  return d;
}

// Keeps `index` along `dim` of a parameter in place: the parameter object (what optimisers and
// the module hold) and requires_grad stay; a gradient of the old shape is dropped.
inline void slice_param(torch::Tensor& p, int64_t dim, const torch::Tensor& index) {
  torch::NoGradGuard no_grad;
  p.set_data(at::index_select(p, dim, index.to(p.device()).to(at::kLong)).contiguous());
  if (p.grad().defined()) p.mutable_grad() = torch::Tensor();
}

}  // namespace lightpeft::peft_detail
