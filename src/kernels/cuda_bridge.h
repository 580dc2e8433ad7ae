#pragma once
// Private to src/kernels: what the operations need to call the torch-free kernels (kernels/) on
// CUDA tensors. Everything here exists only in builds with the kernels (LIGHTPEFT_WITH_CUDA);
// elsewhere the operations are their references.
#ifdef LIGHTPEFT_WITH_CUDA

#include <optional>

#include <ATen/autocast_mode.h>
#include <ATen/core/Tensor.h>
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

#include "lightpeft/core/error.h"
#include "lightpeft_kernels.h"

namespace lightpeft::kernels::bridge {

// The element types the kernels take.
inline bool kernel_dtype(c10::ScalarType t) { return t == at::kFloat || t == at::kBFloat16; }

inline gpu::DType dtype_of(const at::Tensor& t) {
  return t.scalar_type() == at::kBFloat16 ? gpu::DType::bf16 : gpu::DType::f32;
}

// The current stream of the tensor's device: kernels run in order with torch's own work.
inline void* stream_of(const at::Tensor& t) {
  return c10::cuda::getCurrentCUDAStream(t.device().index()).stream();
}

inline void check(int status, const char* what) {
  LP_CHECK(status == gpu::kOk, what, ": ", gpu::status_string(status));
}

// The dtype CUDA autocast would compute a linear in, when autocast is on for CUDA.
inline std::optional<c10::ScalarType> cuda_autocast_dtype() {
  if (!at::autocast::is_autocast_enabled(at::kCUDA)) return std::nullopt;
  return at::autocast::get_autocast_dtype(at::kCUDA);
}

// Inside a custom autograd Function the casts are done already (by the caller, differentiably);
// ATen calls there must not be autocast again.
struct NoAutocast {
  c10::impl::ExcludeDispatchKeyGuard guard{c10::DispatchKeySet(c10::DispatchKey::AutocastCUDA)};
};

// `t` as `dtype` (a differentiable cast; no copy when it has that dtype already).
inline at::Tensor cast(const at::Tensor& t, c10::ScalarType dtype) {
  return t.defined() && t.scalar_type() != dtype ? t.to(dtype) : t;
}

}  // namespace lightpeft::kernels::bridge

#endif  // LIGHTPEFT_WITH_CUDA
