// Neuron-masked FFN activation epilogue, forward and backward (masked_ffn.h). Memory-bound: one
// read of h (and dy) and one write per element; the formulas are torch's (ATen's GeluKernel and
// activation backward), evaluated in fp32.
#include "masked_ffn.h"

#include <cmath>

#include "device_util.cuh"

namespace lightpeft::gpu {
namespace {

using namespace detail;

constexpr int kThreads = 256;
constexpr int64_t kRowsPerBlock = 32;  // backward: rows each block reduces for its columns

__device__ __forceinline__ float activation(Activation act, float x) {
  switch (act) {
    case Activation::gelu:
      return 0.5f * x * (1.0f + erff(x * static_cast<float>(M_SQRT1_2)));
    case Activation::gelu_tanh: {
      const float beta = static_cast<float>(M_SQRT2 * M_2_SQRTPI * 0.5), kappa = 0.044715f;
      return 0.5f * x * (1.0f + tanhf(beta * (x + kappa * x * x * x)));
    }
    case Activation::relu:
      return x > 0.0f ? x : 0.0f;
    case Activation::silu:
      return x / (1.0f + expf(-x));
  }
  return 0.0f;
}

__device__ __forceinline__ float activation_grad(Activation act, float x) {
  switch (act) {
    case Activation::gelu: {
      const float cdf = 0.5f * (1.0f + erff(x * static_cast<float>(M_SQRT1_2)));
      const float pdf = expf(-0.5f * x * x) * static_cast<float>(M_2_SQRTPI * M_SQRT1_2 * 0.5);
      return cdf + x * pdf;
    }
    case Activation::gelu_tanh: {
      const float beta = static_cast<float>(M_SQRT2 * M_2_SQRTPI * 0.5), kappa = 0.044715f;
      const float t = tanhf(beta * (x + kappa * x * x * x));
      const float inner_grad = beta * (1.0f + 3.0f * kappa * x * x);
      return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * inner_grad;
    }
    case Activation::relu:
      return x > 0.0f ? 1.0f : 0.0f;
    case Activation::silu: {
      const float s = 1.0f / (1.0f + expf(-x));
      return s * (1.0f + x * (1.0f - s));
    }
  }
  return 0.0f;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    masked_activation_forward_kernel(Activation act, int64_t total, int64_t cols,
                                     const T* __restrict__ h, const float* __restrict__ mask,
                                     T* __restrict__ y) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const float a = activation(act, to_float(h[i]));
    y[i] = from_float<T>(mask ? a * mask[i % cols] : a);
  }
}

// One thread per column, one block per (256 columns, kRowsPerBlock rows): coalesced along the
// columns, and the mask gradient of the block's rows is a register sum.
template <typename T>
__global__ void __launch_bounds__(kThreads)
    masked_activation_backward_kernel(Activation act, int64_t rows, int64_t cols,
                                      const T* __restrict__ h, const float* __restrict__ mask,
                                      const T* dy, T* dh, float* __restrict__ dmask_partial) {
  const int64_t col = blockIdx.x * int64_t{kThreads} + threadIdx.x;
  if (col >= cols) return;
  const float m = mask ? mask[col] : 1.0f;
  const int64_t row_begin = blockIdx.y * kRowsPerBlock;
  const int64_t row_end = min(rows, row_begin + kRowsPerBlock);
  float dmask = 0.0f;
  for (int64_t row = row_begin; row < row_end; ++row) {
    const int64_t i = row * cols + col;
    const float x = to_float(h[i]), g = to_float(dy[i]);
    if (dmask_partial) dmask += g * activation(act, x);
    dh[i] = from_float<T>(g * m * activation_grad(act, x));
  }
  if (dmask_partial) dmask_partial[blockIdx.y * cols + col] = dmask;
}

template <typename T>
int forward(Activation act, int64_t rows, int64_t cols, const void* h, const float* mask, void* y,
            void* stream) {
  const int64_t total = rows * cols;
  const int blocks = static_cast<int>(min(ceil_div(total, kThreads), int64_t{65535}));
  masked_activation_forward_kernel<T><<<blocks, kThreads, 0, as_stream(stream)>>>(
      act, total, cols, static_cast<const T*>(h), mask, static_cast<T*>(y));
  return launch_status();
}

template <typename T>
int backward(Activation act, int64_t rows, int64_t cols, const void* h, const float* mask,
             const void* dy, void* dh, float* dmask_partial, void* stream) {
  const dim3 grid(static_cast<unsigned>(ceil_div(cols, kThreads)),
                  static_cast<unsigned>(masked_activation_row_blocks(rows)));
  masked_activation_backward_kernel<T><<<grid, kThreads, 0, as_stream(stream)>>>(
      act, rows, cols, static_cast<const T*>(h), mask, static_cast<const T*>(dy),
      static_cast<T*>(dh), dmask_partial);
  return launch_status();
}

bool known(Activation act) {
  return act == Activation::gelu || act == Activation::gelu_tanh || act == Activation::relu ||
         act == Activation::silu;
}

}  // namespace

int64_t masked_activation_row_blocks(int64_t rows) {
  return rows <= 0 ? 1 : detail::ceil_div(rows, kRowsPerBlock);
}

int masked_activation_forward(DType dtype, Activation act, int64_t rows, int64_t cols,
                              const void* h, const float* mask, void* y, void* stream) {
  if (rows < 0 || cols < 0 || !known(act)) return kInvalidArgument;
  if (rows == 0 || cols == 0) return kOk;
  if (!h || !y) return kInvalidArgument;
  if (dtype == DType::f32) return forward<float>(act, rows, cols, h, mask, y, stream);
  if (dtype == DType::bf16) return forward<bf16>(act, rows, cols, h, mask, y, stream);
  return kUnsupported;
}

int masked_activation_backward(DType dtype, Activation act, int64_t rows, int64_t cols,
                               const void* h, const float* mask, const void* dy, void* dh,
                               float* dmask_partial, void* stream) {
  if (rows < 0 || cols < 0 || !known(act)) return kInvalidArgument;
  if (masked_activation_row_blocks(rows) > 65535) return kUnsupported;  // grid y limit
  if (rows == 0 || cols == 0) return kOk;
  if (!h || !dy || !dh) return kInvalidArgument;
  if (dtype == DType::f32)
    return backward<float>(act, rows, cols, h, mask, dy, dh, dmask_partial, stream);
  if (dtype == DType::bf16)
    return backward<bf16>(act, rows, cols, h, mask, dy, dh, dmask_partial, stream);
  return kUnsupported;
}

}  // namespace lightpeft::gpu
