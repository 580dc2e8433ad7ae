#include "lightpeft/kernels/importance.h"

#include "lightpeft/core/error.h"
#include "lightpeft/pruning/rank_importance.h"

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
