#include "lightpeft/peft/bottleneck_adapter.h"

#include <set>

#include <ATen/ops/tanh.h>
#include <ATen/ops/tensor.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/activation.h"
#include "lightpeft/models/checkpointing.h"
#include "tensor_util.h"

namespace lightpeft {

using peft_detail::make_dense;
using peft_detail::slice_param;

namespace {

torch::Tensor activate(const std::string& name, const torch::Tensor& x) {
  return apply_activation(name, x);
}

}  // namespace

BottleneckAdapterImpl::BottleneckAdapterImpl(Dense base, int64_t bottleneck_size,
                                             AdapterOptions options)
    : width_(bottleneck_size), options_(std::move(options)) {
  LP_CHECK(base, "BottleneckAdapter: null base layer");
  LP_CHECK(width_ >= 0, "BottleneckAdapter: bottleneck_size must be >= 0, got ", width_);
  LP_CHECK(options_.dropout >= 0.0 && options_.dropout < 1.0,
           "BottleneckAdapter: adapter_dropout must be in [0, 1), got ", options_.dropout);
  LP_CHECK(options_.init_weights == "bert" || options_.init_weights == "zero_up",
           "BottleneckAdapter: init_weights must be \"bert\" or \"zero_up\", got \"",
           options_.init_weights, "\"");
  const auto& n = options_.non_linearity;
  LP_CHECK(n == "relu" || n == "gelu" || n == "gelu_new" || n == "tanh" || n == "silu",
           "BottleneckAdapter: non_linearity must be relu, gelu, gelu_new, tanh or silu, got \"", n,
           "\"");
  base_layer = register_module("base_layer", std::move(base));
  adapter_dropout = register_module("adapter_dropout", Dropout(options_.dropout));
  if (width_ > 0) {
    const int64_t out = out_features();
    adapter_down = register_module("adapter_down", make_dense(out, width_, base_layer->weight));
    adapter_up = register_module("adapter_up", make_dense(width_, out, base_layer->weight));
    reset_adapter_parameters();
  }
}

torch::Tensor BottleneckAdapterImpl::forward(const torch::Tensor& x) {
  auto y = base_layer->forward(x);
  if (width_ == 0) return y;
  auto delta = adapter_delta(y);
  if (observer_ != nullptr && is_training() && !is_recomputing()) observer_->observe(observer_index_, y, delta);
  return y + delta;
}

torch::Tensor BottleneckAdapterImpl::adapter_delta(const torch::Tensor& base_output) {
  if (width_ == 0) return {};
  auto h = adapter_down->forward(adapter_dropout->forward(base_output));
  return adapter_up->forward(activate(options_.non_linearity, h)) * options_.scaling;
}

void BottleneckAdapterImpl::pretty_print(std::ostream& stream) const {
  stream << "BottleneckAdapter(features=" << out_features() << ", bottleneck_size=" << width_
         << ", non_linearity=" << options_.non_linearity << ", scaling=" << options_.scaling << ")";
}

void BottleneckAdapterImpl::reset_adapter_parameters() {
  if (width_ == 0) return;
  torch::NoGradGuard no_grad;
  adapter_down->weight.normal_(0.0, 0.02);
  if (options_.init_weights == "zero_up")
    adapter_up->weight.zero_();
  else
    adapter_up->weight.normal_(0.0, 0.02);
}

void BottleneckAdapterImpl::keep_ranks(const std::vector<int64_t>& ranks) {
  std::set<int64_t> seen;
  for (int64_t i : ranks) {
    LP_CHECK(i >= 0 && i < width_, "BottleneckAdapter::keep_ranks: unit ", i, " out of range [0, ",
             width_, ")");
    LP_CHECK(seen.insert(i).second, "BottleneckAdapter::keep_ranks: unit ", i, " given twice");
  }
  if (ranks.empty()) {
    if (width_ > 0) {
      unregister_module("adapter_down");
      unregister_module("adapter_up");
      adapter_down = Dense(nullptr);
      adapter_up = Dense(nullptr);
      width_ = 0;
    }
    return;
  }
  auto index = at::tensor(ranks, at::kLong);
  slice_param(adapter_down->weight, 0, index);
  slice_param(adapter_up->weight, 1, index);
  width_ = static_cast<int64_t>(ranks.size());
}

void BottleneckAdapterImpl::prune(const torch::Tensor& index, int64_t dim) {
  LP_CHECK(dim == 0 || dim == 1, "BottleneckAdapter::prune: dim must be 0 or 1, got ", dim);
  base_layer->prune(index, dim);
  if (dim == 1 || width_ == 0) return;
  slice_param(adapter_up->weight, 0, index);
  slice_param(adapter_down->weight, 1, index);
}

}  // namespace lightpeft
