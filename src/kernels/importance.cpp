#include "lightpeft/kernels/importance.h"

#include "lightpeft/core/error.h"
#include <ATen/TensorOperators.h>
#include <ATen/core/grad_mode.h>
#include <ATen/ops/abs.h>
#include <ATen/ops/zeros.h>

#ifdef LIGHTPEFT_WITH_CUDA
#include "cuda_bridge.h"
#endif

namespace lightpeft::kernels {
namespace {

void check_arguments(const at::Tensor& A, const at::Tensor& B, const at::Tensor& sum) {
  LP_CHECK(A.defined() && B.defined() && A.dim() == 2 && B.dim() == 2 && A.size(0) == B.size(1),
           "rank_taylor_accumulate: expected A (r, in) and B (out, r), got ",
           A.defined() ? A.sizes() : at::IntArrayRef{}, " and ",
           B.defined() ? B.sizes() : at::IntArrayRef{});
  LP_CHECK(sum.defined() && sum.dim() == 1 && sum.size(0) == A.size(0) &&
               sum.scalar_type() == at::kFloat,
           "rank_taylor_accumulate: expected a float32 sum of shape (", A.size(0), ")");
}

}  // namespace

at::Tensor rank_taylor_scores(const at::Tensor& A, const at::Tensor& B) {
  LP_CHECK(A.dim() == 2 && B.dim() == 2 && A.size(0) == B.size(1),
           "rank_taylor_scores: expected A (r, in) and B (out, r), got ", A.sizes(), " and ",
           B.sizes());
  at::NoGradGuard no_grad;
  auto s = at::zeros({A.size(0)}, A.options().dtype(at::kFloat));
  // The official training_step: torch.stack([(A*gA).mean(1).abs(), (B*gB).mean(0).abs()]).sum(0).
  if (A.grad().defined()) s.add_(at::abs((A.detach() * A.grad()).to(at::kFloat).mean(1)));
  if (B.grad().defined()) s.add_(at::abs((B.detach() * B.grad()).to(at::kFloat).mean(0)));
  return s;
}

namespace reference {

void rank_taylor_accumulate(const at::Tensor& A, const at::Tensor& B, const at::Tensor& sum) {
  check_arguments(A, B, sum);
  at::NoGradGuard no_grad;
  sum.add_(rank_taylor_scores(A, B).to(sum.device()));
}

}  // namespace reference

void rank_taylor_accumulate(const at::Tensor& A, const at::Tensor& B, const at::Tensor& sum) {
  check_arguments(A, B, sum);
#ifdef LIGHTPEFT_WITH_CUDA
  const auto& gA = A.grad();
  const auto& gB = B.grad();
  auto fits = [&](const at::Tensor& t) {
    return !t.defined() || (t.device() == A.device() && t.scalar_type() == A.scalar_type());
  };
  if (A.is_cuda() && bridge::kernel_dtype(A.scalar_type()) && fits(B) && fits(gA) && fits(gB) &&
      sum.device() == A.device() && sum.is_contiguous()) {
    at::NoGradGuard no_grad;
    c10::cuda::CUDAGuard device(A.device());
    auto a = A.detach().contiguous(), b = B.detach().contiguous();
    auto ga = gA.defined() ? gA.contiguous() : gA, gb = gB.defined() ? gB.contiguous() : gB;
    bridge::check(gpu::rank_taylor_accumulate(
                      bridge::dtype_of(a), a.size(0), a.size(1), b.size(0), a.data_ptr(),
                      ga.defined() ? ga.data_ptr() : nullptr, b.data_ptr(),
                      gb.defined() ? gb.data_ptr() : nullptr, sum.data_ptr<float>(),
                      bridge::stream_of(a)),
                  "rank_taylor_accumulate (fused)");
    return;
  }
#endif
  reference::rank_taylor_accumulate(A, B, sum);
}

}  // namespace lightpeft::kernels
