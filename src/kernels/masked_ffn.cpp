#include "lightpeft/kernels/masked_ffn.h"

#include <ATen/TensorOperators.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/activation.h"

#ifdef LIGHTPEFT_WITH_CUDA
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/csrc/autograd/custom_function.h>

#include "cuda_bridge.h"
#endif

namespace lightpeft::kernels {
namespace {

// The names apply_activation knows (kernels/activation.h), as the kernels' enum values.
bool activation_id(const std::string& name, int64_t& id) {
  if (name == "gelu")
    id = 0;
  else if (name == "gelu_new" || name == "gelu_pytorch_tanh")
    id = 1;
  else if (name == "relu")
    id = 2;
  else if (name == "silu" || name == "swish")
    id = 3;
  else
    return false;
  return true;
}

int64_t check_arguments(const at::Tensor& h, const at::Tensor& mask,
                        const std::string& activation) {
  int64_t id = 0;
  LP_CHECK(activation_id(activation, id), "masked_activation: unsupported activation '",
           activation, "' (gelu, gelu_new, gelu_pytorch_tanh, relu, silu, swish)");
  LP_CHECK(h.defined() && h.dim() >= 1, "masked_activation: expected h of shape (..., d_ff)");
  if (mask.defined())
    LP_CHECK(mask.numel() == h.size(-1) && mask.numel() == mask.size(-1),
             "masked_activation: neuron mask of shape ", mask.sizes(), " does not fit h of shape ",
             h.sizes(), " (expected (", h.size(-1), ") or (1, ", h.size(-1), "))");
  return id;
}

}  // namespace

namespace reference {

at::Tensor masked_activation(const at::Tensor& h, const at::Tensor& neuron_mask,
                             const std::string& activation) {
  check_arguments(h, neuron_mask, activation);
  // IntermediateImpl::forward, then TransformerLayerImpl::forward's product with the mask.
  auto y = apply_activation(activation, h);
  return neuron_mask.defined() ? y * neuron_mask : y;
}

}  // namespace reference

#ifdef LIGHTPEFT_WITH_CUDA
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class MaskedActivationFunction : public torch::autograd::Function<MaskedActivationFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& h, const at::Tensor& mask,
                            int64_t activation) {
    bridge::NoAutocast no_autocast;
    c10::cuda::CUDAGuard device(h.device());
    auto hc = h.contiguous();
    auto m = mask.detach().reshape({-1}).to(at::kFloat).contiguous();
    const int64_t cols = h.size(-1), rows = h.numel() / cols;
    auto y = at::empty_like(hc);
    bridge::check(gpu::masked_activation_forward(bridge::dtype_of(hc),
                                                 static_cast<gpu::Activation>(activation), rows,
                                                 cols, hc.data_ptr(), m.data_ptr<float>(),
                                                 y.data_ptr(), bridge::stream_of(hc)),
                  "masked_activation (fused forward)");
    ctx->save_for_backward({hc, m});
    ctx->saved_data["activation"] = activation;
    ctx->saved_data["mask_sizes"] = mask.sizes().vec();
    ctx->saved_data["mask_dtype"] = static_cast<int64_t>(mask.scalar_type());
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    bridge::NoAutocast no_autocast;
    const auto saved = ctx->get_saved_variables();
    const auto &h = saved[0], &m = saved[1];
    c10::cuda::CUDAGuard device(h.device());
    const int64_t cols = h.size(-1), rows = h.numel() / cols;
    auto dy = grads[0].to(h.scalar_type()).contiguous();
    auto dh = at::empty_like(h);
    const bool mask_grad = ctx->needs_input_grad(1);
    at::Tensor partial;
    if (mask_grad)
      partial = at::empty({gpu::masked_activation_row_blocks(rows), cols},
                          h.options().dtype(at::kFloat));
    bridge::check(gpu::masked_activation_backward(
                      bridge::dtype_of(h),
                      static_cast<gpu::Activation>(ctx->saved_data["activation"].toInt()), rows,
                      cols, h.data_ptr(), m.data_ptr<float>(), dy.data_ptr(), dh.data_ptr(),
                      mask_grad ? partial.data_ptr<float>() : nullptr, bridge::stream_of(h)),
                  "masked_activation (fused backward)");
    at::Tensor dmask;
    if (mask_grad) {
      const auto dtype = static_cast<c10::ScalarType>(ctx->saved_data["mask_dtype"].toInt());
      dmask = partial.sum(0).reshape(ctx->saved_data["mask_sizes"].toIntVector()).to(dtype);
    }
    return {dh, dmask, {}};
  }
};

}  // namespace
#endif  // LIGHTPEFT_WITH_CUDA

at::Tensor masked_activation(const at::Tensor& h, const at::Tensor& neuron_mask,
                             const std::string& activation) {
  const int64_t id = check_arguments(h, neuron_mask, activation);
#ifdef LIGHTPEFT_WITH_CUDA
  // Without a mask there is nothing to fuse: the activation alone is the reference's one kernel.
  if (h.is_cuda() && neuron_mask.defined() && h.numel() > 0 &&
      bridge::kernel_dtype(h.scalar_type()) && neuron_mask.device() == h.device() &&
      neuron_mask.is_floating_point())
    return MaskedActivationFunction::apply(h, neuron_mask, id);
#else
  (void)id;
#endif
  return reference::masked_activation(h, neuron_mask, activation);
}

}  // namespace lightpeft::kernels
