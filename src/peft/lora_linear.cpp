#include "lightpeft/peft/lora_linear.h"

#include <cmath>
#include <set>

#include <ATen/autocast_mode.h>
#include <ATen/ops/addmm.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <torch/nn/init.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/kernels/lora_linear.h"
#include "lightpeft/models/checkpointing.h"
#include "tensor_util.h"

namespace lightpeft {

using peft_detail::make_dense;
using peft_detail::slice_param;

double lora_scaling(int64_t r, double alpha, bool use_rslora) {
  if (r <= 0) return 0.0;
  return use_rslora ? alpha / std::sqrt(static_cast<double>(r)) : alpha / static_cast<double>(r);
}

LoraLinearImpl::LoraLinearImpl(Dense base, int64_t r, double lora_alpha, double dropout,
                               bool use_rslora)
    : r_(r), alpha_(lora_alpha), scaling_(lora_scaling(r, lora_alpha, use_rslora)),
      use_rslora_(use_rslora) {
  LP_CHECK(base, "LoraLinear: null base layer");
  LP_CHECK(r >= 0, "LoraLinear: r must be >= 0, got ", r);
  LP_CHECK(dropout >= 0.0 && dropout < 1.0, "LoraLinear: lora_dropout must be in [0, 1), got ",
           dropout);
  base_layer = register_module("base_layer", std::move(base));
  lora_dropout = register_module("lora_dropout", Dropout(dropout));
  if (r_ > 0) {
    lora_A = register_module("lora_A", make_dense(in_features(), r_, base_layer->weight));
    lora_B = register_module("lora_B", make_dense(r_, out_features(), base_layer->weight));
    reset_lora_parameters();
  }
}

torch::Tensor LoraLinearImpl::forward(const torch::Tensor& x) {
  if (r_ == 0 || merged_) return base_layer->forward(x);
  const bool observed = observer_ != nullptr && is_training() && !is_recomputing();
  if (kernels::use_fused(x) && !base_layer->fan_in_fan_out()) {  // LIGHTPEFT_KERNELS=fused on CUDA
    // Module importance rides on the fused pass: the kernel records the ratio.
    kernels::ModuleRatioSink sink;
    const bool record = observed && observer_->ratio_sink(observer_index_, x, sink);
    return kernels::lora_linear(x, base_layer->weight, base_layer->bias, lora_A->weight,
                                lora_B->weight, scaling_, lora_dropout->forward(x),
                                record ? &sink : nullptr);
  }
  auto result = base_layer->forward(x);
  // With an observer (the estimate stage) the update stays a tensor of its own, the same arithmetic
  // in the forward and in gradient checkpointing's recomputation of it.
  if (observer_ == nullptr) return add_scaled_update(result, lora_A->forward(lora_dropout->forward(x)));
  auto delta = lora_delta(x);
  if (observed) observer_->observe(observer_index_, result, delta);
  return result + delta;
}

torch::Tensor LoraLinearImpl::add_scaled_update(const torch::Tensor& result, const torch::Tensor& down) {
  const auto& B = lora_B->weight;
  const bool same_type = result.scalar_type() == down.scalar_type() && down.scalar_type() == B.scalar_type();
  if (!same_type && !at::autocast::is_autocast_enabled(result.device().type()))
    return result + lora_B->forward(down) * scaling_;
  // result + scaling * down B^T as one GEMM (BLAS's beta = 1, alpha = scaling): the scale and the
  // sum ride in the GEMM instead of a multiply, an add and the multiply's backward over
  // (tokens, out) each. The same sum up to rounding order.
  // Rows counted on `down` (r > 0 here): `out` is 0 for a layer whose units were all pruned.
  const int64_t out = result.size(-1), tokens = down.numel() / down.size(-1);
  return at::addmm(result.reshape({tokens, out}), down.reshape({tokens, down.size(-1)}), B.t(), 1.0, scaling_)
      .view(result.sizes());
}

torch::Tensor LoraLinearImpl::lora_delta(const torch::Tensor& x) {
  if (r_ == 0) return {};
  return lora_B->forward(lora_A->forward(lora_dropout->forward(x))) * scaling_;
}

torch::Tensor LoraLinearImpl::delta_weight() const {
  if (r_ == 0) return at::zeros({out_features(), in_features()}, base_layer->weight.options());
  return at::matmul(lora_B->weight, lora_A->weight) * scaling_;
}

double LoraLinearImpl::effective_alpha() const {
  if (r_ == 0) return alpha_;
  return use_rslora_ ? scaling_ * std::sqrt(static_cast<double>(r_))
                     : scaling_ * static_cast<double>(r_);
}

void LoraLinearImpl::pretty_print(std::ostream& stream) const {
  stream << "LoraLinear(in_features=" << in_features() << ", out_features=" << out_features()
         << ", r=" << r_ << ", scaling=" << scaling_ << (merged_ ? ", merged" : "") << ")";
}

void LoraLinearImpl::merge() {
  LP_CHECK(!merged_, "LoraLinear::merge: already merged");
  torch::NoGradGuard no_grad;
  if (r_ > 0) base_layer->add_to_weight(delta_weight());
  merged_ = true;
}

void LoraLinearImpl::unmerge() {
  LP_CHECK(merged_, "LoraLinear::unmerge: not merged");
  torch::NoGradGuard no_grad;
  if (r_ > 0) base_layer->add_to_weight(delta_weight(), -1.0);
  merged_ = false;
}

void LoraLinearImpl::reset_lora_parameters() {
  if (r_ == 0) return;
  torch::NoGradGuard no_grad;
  torch::nn::init::kaiming_uniform_(lora_A->weight, std::sqrt(5.0));
  lora_B->weight.zero_();
}

void LoraLinearImpl::remove_lora() {
  unregister_module("lora_A");
  unregister_module("lora_B");
  lora_A = Dense(nullptr);
  lora_B = Dense(nullptr);
  r_ = 0;
}

void LoraLinearImpl::keep_ranks(const std::vector<int64_t>& ranks) {
  LP_CHECK(!merged_, "LoraLinear::keep_ranks: unmerge first (the merged update uses all ranks)");
  std::set<int64_t> seen;
  for (int64_t i : ranks) {
    LP_CHECK(i >= 0 && i < r_, "LoraLinear::keep_ranks: rank ", i, " out of range [0, ", r_, ")");
    LP_CHECK(seen.insert(i).second, "LoraLinear::keep_ranks: rank ", i, " given twice");
  }
  if (ranks.empty()) {
    if (r_ > 0) remove_lora();
    return;
  }
  auto index = at::tensor(ranks, at::kLong);
  slice_param(lora_A->weight, 0, index);
  slice_param(lora_B->weight, 1, index);
  r_ = static_cast<int64_t>(ranks.size());  // scaling_ stays alpha / r_original on purpose
}

void LoraLinearImpl::prune(const torch::Tensor& index, int64_t dim) {
  LP_CHECK(dim == 0 || dim == 1, "LoraLinear::prune: dim must be 0 or 1, got ", dim);
  // Slicing a merged weight is consistent too ((W + sBA) rows = W rows + s B_rows A), so no check.
  base_layer->prune(index, dim);
  if (r_ == 0) return;
  if (dim == 0)
    slice_param(lora_B->weight, 0, index);
  else
    slice_param(lora_A->weight, 1, index);
}

}  // namespace lightpeft
