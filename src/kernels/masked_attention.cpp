#include "lightpeft/kernels/masked_attention.h"

#include <cmath>

#include <ATen/TensorOperators.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/dropout.h"

#ifdef LIGHTPEFT_WITH_CUDA
#include <mutex>

#include <ATen/cuda/CUDAGeneratorImpl.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <torch/csrc/autograd/custom_function.h>

#include "cuda_bridge.h"
#endif

namespace lightpeft::kernels {
namespace {

void check_arguments(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& attn_bias, const at::Tensor& head_mask, int64_t num_heads,
                     double dropout_p) {
  LP_CHECK(q.defined() && k.defined() && v.defined(), "masked_attention: q, k and v are required");
  LP_CHECK(q.dim() == 3, "masked_attention: expected q of shape (batch, seq, heads * head_dim), got ",
           q.sizes());
  LP_CHECK(k.sizes() == q.sizes() && v.sizes() == q.sizes(),
           "masked_attention: q, k and v must have equal shapes, got ", q.sizes(), ", ", k.sizes(),
           " and ", v.sizes());
  LP_CHECK(num_heads >= 0, "masked_attention: num_heads must be >= 0, got ", num_heads);
  LP_CHECK(num_heads == 0 ? q.size(2) == 0 : q.size(2) % num_heads == 0,
           "masked_attention: the last dim of q (", q.size(2), ") is not a multiple of num_heads (",
           num_heads, ")");
  LP_CHECK(dropout_p >= 0.0 && dropout_p < 1.0, "masked_attention: dropout_p must be in [0, 1), got ",
           dropout_p);
  if (head_mask.defined())
    LP_CHECK(head_mask.numel() == num_heads, "masked_attention: head_mask has ", head_mask.numel(),
             " elements for ", num_heads, " heads");
  if (attn_bias.defined()) {
    const int64_t batch = q.size(0), seq = q.size(1);
    const std::vector<int64_t> full{batch, num_heads, seq, seq};
    bool fits = attn_bias.dim() <= 4;
    for (int64_t i = 0; fits && i < attn_bias.dim(); ++i) {
      const int64_t s = attn_bias.size(attn_bias.dim() - 1 - i), f = full[3 - i];
      fits = s == 1 || s == f;
    }
    LP_CHECK(fits, "masked_attention: attn_bias of shape ", attn_bias.sizes(),
             " does not broadcast to (batch, heads, seq, seq) = ", at::IntArrayRef(full));
  }
}

}  // namespace

namespace reference {

at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& attn_bias, const at::Tensor& head_mask,
                            int64_t num_heads, double dropout_p, bool training) {
  check_arguments(q, k, v, attn_bias, head_mask, num_heads, dropout_p);
  const int64_t batch = q.size(0), seq = q.size(1);
  if (num_heads == 0) return at::zeros({batch, seq, 0}, q.options());
  const int64_t head_size = q.size(2) / num_heads;
  // SelfAttentionImpl::forward, step by step.
  auto split = [&](const at::Tensor& x) {
    return x.reshape({batch, seq, num_heads, head_size}).permute({0, 2, 1, 3});
  };
  auto scores = at::matmul(split(q), split(k).transpose(-1, -2)) /
                std::sqrt(static_cast<double>(head_size));
  if (attn_bias.defined()) scores = scores + attn_bias;
  auto probs = kernels::dropout(at::softmax(scores, -1), dropout_p, training);
  if (head_mask.defined()) probs = probs * head_mask.reshape({1, num_heads, 1, 1});
  auto context = at::matmul(probs, split(v));  // (B, H, T, d)
  return context.permute({0, 2, 1, 3}).reshape({batch, seq, num_heads * head_size});
}

}  // namespace reference

#ifdef LIGHTPEFT_WITH_CUDA
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// What the fused kernel takes; anything else goes to the reference.
bool kernel_fits(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                 const at::Tensor& attn_bias, const at::Tensor& head_mask, int64_t num_heads) {
  if (!q.is_cuda() || num_heads == 0 || q.numel() == 0) return false;
  if (k.device() != q.device() || v.device() != q.device()) return false;
  if (q.size(2) / num_heads > gpu::kAttentionMaxHeadDim) return false;
  if (attn_bias.defined()) {
    // HF's (B, 1, 1, T) padding mask: one additive value per key. A bias with a gradient (a
    // learned bias) is not what the kernel computes the backward of.
    if (attn_bias.dim() != 4 || attn_bias.size(1) != 1 || attn_bias.size(2) != 1 ||
        attn_bias.size(3) != q.size(1) || attn_bias.requires_grad() ||
        attn_bias.device() != q.device())
      return false;
  }
  if (head_mask.defined() && (head_mask.device() != q.device() || !head_mask.is_floating_point()))
    return false;
  return true;
}

class MaskedAttentionFunction : public torch::autograd::Function<MaskedAttentionFunction> {
 public:
  // key_bias: (B, T) fp32 or undefined; seed/offset: the dropout's Philox stream.
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& q, const at::Tensor& k,
                            const at::Tensor& v, const at::Tensor& head_mask,
                            const at::Tensor& key_bias, int64_t num_heads, double dropout_p,
                            int64_t seed, int64_t offset) {
    bridge::NoAutocast no_autocast;
    c10::cuda::CUDAGuard device(q.device());
    auto qc = q.contiguous(), kc = k.contiguous(), vc = v.contiguous();
    at::Tensor mask;
    if (head_mask.defined()) mask = head_mask.detach().reshape({num_heads}).to(at::kFloat).contiguous();
    auto problem = make_problem(qc, key_bias, mask, num_heads, dropout_p, seed, offset);
    auto out = at::empty_like(qc);
    auto unmasked = mask.defined() ? at::empty_like(qc) : out;
    auto lse = at::empty({problem.batch, num_heads, problem.seq}, qc.options().dtype(at::kFloat));
    bridge::check(gpu::masked_attention_forward(bridge::dtype_of(qc), problem, qc.data_ptr(),
                                                kc.data_ptr(), vc.data_ptr(), out.data_ptr(),
                                                mask.defined() ? unmasked.data_ptr() : nullptr,
                                                lse.data_ptr<float>(), bridge::stream_of(qc)),
                  "masked_attention (fused forward)");
    ctx->save_for_backward({qc, kc, vc, unmasked, lse, mask, key_bias});
    ctx->saved_data["num_heads"] = num_heads;
    ctx->saved_data["dropout_p"] = dropout_p;
    ctx->saved_data["seed"] = seed;
    ctx->saved_data["offset"] = offset;
    if (head_mask.defined()) {
      ctx->saved_data["mask_sizes"] = head_mask.sizes().vec();
      ctx->saved_data["mask_dtype"] = static_cast<int64_t>(head_mask.scalar_type());
    }
    return out;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    bridge::NoAutocast no_autocast;
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &unmasked = saved[3], &lse = saved[4],
               &mask = saved[5], &key_bias = saved[6];
    c10::cuda::CUDAGuard device(q.device());
    const int64_t num_heads = ctx->saved_data["num_heads"].toInt();
    auto problem = make_problem(q, key_bias, mask, num_heads, ctx->saved_data["dropout_p"].toDouble(),
                                ctx->saved_data["seed"].toInt(), ctx->saved_data["offset"].toInt());
    auto dout = grads[0].to(q.scalar_type()).contiguous();
    auto dq = at::empty_like(q), dk = at::empty_like(q), dv = at::empty_like(q);
    auto delta = at::empty({problem.batch, num_heads, problem.seq}, q.options().dtype(at::kFloat));
    const bool mask_grad = mask.defined() && ctx->needs_input_grad(3);
    at::Tensor partial;
    if (mask_grad)
      partial = at::empty({problem.batch, num_heads, gpu::attention_query_tiles(problem.seq)},
                          q.options().dtype(at::kFloat));
    bridge::check(gpu::masked_attention_backward(
                      bridge::dtype_of(q), problem, q.data_ptr(), k.data_ptr(), v.data_ptr(),
                      unmasked.data_ptr(), dout.data_ptr(), lse.data_ptr<float>(),
                      delta.data_ptr<float>(), mask_grad ? partial.data_ptr<float>() : nullptr,
                      dq.data_ptr(), dk.data_ptr(), dv.data_ptr(), bridge::stream_of(q)),
                  "masked_attention (fused backward)");
    at::Tensor dmask;
    if (mask_grad) {
      const auto sizes = ctx->saved_data["mask_sizes"].toIntVector();
      const auto dtype = static_cast<c10::ScalarType>(ctx->saved_data["mask_dtype"].toInt());
      dmask = partial.sum(at::IntArrayRef{0, 2}).reshape(sizes).to(dtype);
    }
    return {dq, dk, dv, dmask, {}, {}, {}, {}, {}};
  }

 private:
  static gpu::AttentionProblem make_problem(const at::Tensor& q, const at::Tensor& key_bias,
                                            const at::Tensor& mask, int64_t num_heads,
                                            double dropout_p, int64_t seed, int64_t offset) {
    gpu::AttentionProblem p;
    p.batch = q.size(0);
    p.seq = q.size(1);
    p.heads = num_heads;
    p.head_dim = q.size(2) / num_heads;
    // SelfAttention divides the scores by sqrt(d); the kernel multiplies by its inverse.
    p.scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(p.head_dim)));
    p.key_bias = key_bias.defined() ? key_bias.data_ptr<float>() : nullptr;
    p.head_mask = mask.defined() ? mask.data_ptr<float>() : nullptr;
    p.dropout_p = static_cast<float>(dropout_p);
    p.seed = static_cast<uint64_t>(seed);
    p.offset = static_cast<uint64_t>(offset);
    return p;
  }
};

at::Tensor fused_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                           const at::Tensor& attn_bias, const at::Tensor& head_mask,
                           int64_t num_heads, double dropout_p) {
  // Under autocast the reference's matmuls run in the autocast dtype: so does the kernel.
  auto dtype = bridge::cuda_autocast_dtype().value_or(q.scalar_type());
  if (!bridge::kernel_dtype(dtype)) return {};
  const int64_t batch = q.size(0), seq = q.size(1);
  at::Tensor key_bias;
  if (attn_bias.defined())
    key_bias = attn_bias.detach().reshape({attn_bias.size(0), seq}).expand({batch, seq})
                   .to(at::kFloat).contiguous();
  int64_t seed = 0, offset = 0;
  if (dropout_p > 0.0) {
    auto* gen = at::get_generator_or_default<at::CUDAGeneratorImpl>(
        std::nullopt, at::cuda::detail::getDefaultCUDAGenerator(q.device().index()));
    std::lock_guard<std::mutex> lock(gen->mutex_);
    // The kernel's counters are (element index, offset): one offset step per call is enough to
    // give every call its own stream; 4 keeps torch's offsets multiples of 4.
    const auto inputs = gen->philox_engine_inputs(4);
    seed = static_cast<int64_t>(inputs.first);
    offset = static_cast<int64_t>(inputs.second);
  }
  return MaskedAttentionFunction::apply(bridge::cast(q, dtype), bridge::cast(k, dtype),
                                        bridge::cast(v, dtype), head_mask, key_bias, num_heads,
                                        dropout_p, seed, offset);
}

}  // namespace
#endif  // LIGHTPEFT_WITH_CUDA

at::Tensor masked_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                            const at::Tensor& attn_bias, const at::Tensor& head_mask,
                            int64_t num_heads, double dropout_p, bool training) {
  check_arguments(q, k, v, attn_bias, head_mask, num_heads, dropout_p);
#ifdef LIGHTPEFT_WITH_CUDA
  if (kernel_fits(q, k, v, attn_bias, head_mask, num_heads)) {
    auto out = fused_attention(q, k, v, attn_bias, head_mask, num_heads, training ? dropout_p : 0.0);
    if (out.defined()) return out;
  }
#endif
  return reference::masked_attention(q, k, v, attn_bias, head_mask, num_heads, dropout_p, training);
}

}  // namespace lightpeft::kernels
