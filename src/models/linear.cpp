#include "lightpeft/models/linear.h"

#include <ATen/ops/empty.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

DenseImpl::DenseImpl(int64_t in_features, int64_t out_features, bool with_bias) {
  LP_CHECK(in_features >= 0 && out_features >= 0, "Dense: negative size (", in_features, ", ",
           out_features, ")");
  // Initialised by the model (init_weights) or overwritten by a checkpoint.
  weight = register_parameter("weight", at::zeros({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", at::zeros({out_features}));
}

torch::Tensor DenseImpl::forward(const torch::Tensor& x) { return at::linear(x, weight, bias); }

void DenseImpl::pretty_print(std::ostream& stream) const {
  stream << "Dense(in_features=" << in_features() << ", out_features=" << out_features()
         << ", bias=" << (bias.defined() ? "true" : "false") << ")";
}

void DenseImpl::prune(const torch::Tensor& index, int64_t dim) {
  LP_CHECK(dim == 0 || dim == 1, "Dense::prune: dim must be 0 or 1, got ", dim);
  torch::NoGradGuard no_grad;
  // set_data swaps the storage of the registered parameter itself, so the module's parameter list,
  // this member and requires_grad all stay as they were.
  auto idx = index.to(weight.device()).to(at::kLong);
  weight.set_data(at::index_select(weight, dim, idx).contiguous());
  if (bias.defined() && dim == 0) bias.set_data(at::index_select(bias, 0, idx).contiguous());
}

std::vector<std::string> LinearHost::linear_names() const {
  std::vector<std::string> names;
  for (const auto& kv : slots_) names.push_back(kv.first);
  return names;
}

LinearPtr LinearHost::linear(const std::string& name) const {
  auto it = slots_.find(name);
  LP_CHECK(it != slots_.end(), "no linear layer named '", name, "' in this module");
  return *it->second;
}

void LinearHost::replace_linear(const std::string& name, LinearPtr layer) {
  auto it = slots_.find(name);
  LP_CHECK(it != slots_.end(), "no linear layer named '", name, "' in this module");
  LP_CHECK(layer != nullptr, "replace_linear('", name, "'): null layer");
  owner_->replace_module(name, layer);
  *it->second = std::move(layer);
}

void LinearHost::register_linear(torch::nn::Module& owner, const std::string& name,
                                 LinearPtr* slot, LinearPtr layer) {
  owner_ = &owner;
  *slot = owner.register_module(name, std::move(layer));
  slots_[name] = slot;
}

}  // namespace lightpeft
