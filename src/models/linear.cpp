#include "lightpeft/models/linear.h"

#include <ATen/autocast_mode.h>
#include <c10/core/GradMode.h>
#include <ATen/ops/index_select.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

DenseImpl::DenseImpl(int64_t in_features, int64_t out_features, bool with_bias, bool fan_in_fan_out)
    : fan_in_fan_out_(fan_in_fan_out) {
  LP_CHECK(in_features >= 0 && out_features >= 0, "Dense: negative size (", in_features, ", ",
           out_features, ")");
  // Initialised by the model (init_weights) or overwritten by a checkpoint.
  weight = register_parameter("weight", fan_in_fan_out ? at::zeros({in_features, out_features})
                                                       : at::zeros({out_features, in_features}));
  if (with_bias) bias = register_parameter("bias", at::zeros({out_features}));
}

at::Tensor autocast_shared_input(const at::Tensor& x) {
  const auto device = x.device().type();
  if (!at::autocast::is_autocast_enabled(device) || !at::isFloatingType(x.scalar_type())) return x;
  if (c10::GradMode::is_enabled() && x.requires_grad()) return x;
  const auto dtype = at::autocast::get_autocast_dtype(device);
  return x.scalar_type() == at::kFloat && dtype != at::kFloat ? x.to(dtype) : x;
}

torch::Tensor DenseImpl::forward(const torch::Tensor& x) {
  if (x.scalar_type() != weight.scalar_type() && !at::autocast::is_autocast_enabled(x.device().type()))
    return forward(x.to(weight.scalar_type())).to(x.scalar_type());  // frozen bf16 weights, fp32 activations
  if (!fan_in_fan_out_) return at::linear(x, weight, bias);
  auto y = at::matmul(x, weight);
  return bias.defined() ? y + bias : y;
}

void DenseImpl::pretty_print(std::ostream& stream) const {
  stream << (fan_in_fan_out_ ? "Conv1D" : "Dense") << "(in_features=" << in_features()
         << ", out_features=" << out_features() << ", bias=" << (bias.defined() ? "true" : "false") << ")";
}

void DenseImpl::prune(const torch::Tensor& index, int64_t dim) {
  LP_CHECK(dim == 0 || dim == 1, "Dense::prune: dim must be 0 or 1, got ", dim);
  torch::NoGradGuard no_grad;
  // set_data swaps the storage of the registered parameter itself, so the module's parameter list,
  // this member and requires_grad all stay as they were.
  auto idx = index.to(weight.device()).to(at::kLong);
  const int64_t stored_dim = fan_in_fan_out_ ? 1 - dim : dim;
  weight.set_data(at::index_select(weight, stored_dim, idx).contiguous());
  if (bias.defined() && dim == 0) bias.set_data(at::index_select(bias, 0, idx).contiguous());
}

void DenseImpl::add_to_weight(const torch::Tensor& delta, double alpha) {
  torch::NoGradGuard no_grad;
  auto d = (fan_in_fan_out_ ? delta.t() : delta).to(weight.scalar_type());
  weight.add_(d, alpha);
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

int64_t store_frozen_linears_as(torch::nn::Module& root, c10::ScalarType dtype) {
  torch::NoGradGuard no_grad;
  int64_t n = 0;
  for (const auto& m : root.modules(/*include_self=*/true)) {
    auto* dense = dynamic_cast<DenseImpl*>(m.get());
    if (dense == nullptr || dense->weight.requires_grad() || dense->weight.scalar_type() == dtype) continue;
    dense->weight.set_data(dense->weight.to(dtype));
    if (dense->bias.defined() && !dense->bias.requires_grad()) dense->bias.set_data(dense->bias.to(dtype));
    ++n;
  }
  return n;
}

std::map<std::string, LinearSlot> linear_slots(const torch::nn::Module& root) {
  std::map<std::string, LinearSlot> slots;
  for (const auto& item : root.named_modules("", /*include_self=*/true)) {
    auto* host = dynamic_cast<LinearHost*>(item.value().get());
    if (host == nullptr) continue;
    const std::string prefix = item.key().empty() ? "" : item.key() + ".";
    for (const auto& name : host->linear_names()) slots[prefix + name] = {host, name};
  }
  return slots;
}

LinearSlot find_linear_slot(const torch::nn::Module& root, const std::string& path) {
  const auto dot = path.rfind('.');
  const std::string host_path = dot == std::string::npos ? "" : path.substr(0, dot);
  LinearSlot slot{nullptr, dot == std::string::npos ? path : path.substr(dot + 1)};
  for (const auto& item : root.named_modules("", /*include_self=*/true)) {
    if (item.key() != host_path) continue;
    slot.host = dynamic_cast<LinearHost*>(item.value().get());
    break;
  }
  LP_CHECK(slot.host != nullptr, "no linear layer at '", path, "' ('", host_path,
           "' is not a module with linear slots)");
  const auto names = slot.host->linear_names();
  LP_CHECK(std::find(names.begin(), names.end(), slot.name) != names.end(), "no linear layer at '",
           path, "'");
  return slot;
}

}  // namespace lightpeft
