// PEFT importance accumulation (importance.h): block reductions, one block per rank for the
// Taylor score, one block for the module ratio of a forward.
#include "importance.h"

#include "device_util.cuh"

namespace lightpeft::gpu {
namespace {

using namespace detail;

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// Sum of x over the block; the result is valid in thread 0.
__device__ float block_sum(float x, float* scratch) {
  x = warp_sum(x);
  if (threadIdx.x % 32 == 0) scratch[threadIdx.x / 32] = x;
  __syncthreads();
  float total = 0.0f;
  if (threadIdx.x == 0)
    for (int w = 0; w < kWarps; ++w) total += scratch[w];
  __syncthreads();  // scratch may be reused
  return total;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    rank_taylor_kernel(int64_t r, int64_t in, int64_t out, const T* __restrict__ a,
                       const T* __restrict__ grad_a, const T* __restrict__ b,
                       const T* __restrict__ grad_b, float* __restrict__ sum) {
  __shared__ float scratch[kWarps];
  const int64_t i = blockIdx.x;
  float sa = 0.0f, sb = 0.0f;
  if (grad_a)
    for (int64_t j = threadIdx.x; j < in; j += kThreads)
      sa = fmaf(to_float(a[i * in + j]), to_float(grad_a[i * in + j]), sa);
  if (grad_b)
    for (int64_t k = threadIdx.x; k < out; k += kThreads)
      sb = fmaf(to_float(b[k * r + i]), to_float(grad_b[k * r + i]), sb);
  sa = block_sum(sa, scratch);
  sb = block_sum(sb, scratch);
  if (threadIdx.x == 0) {
    // mean over an empty dim is 0/0 = NaN, as torch's mean
    const float ta = grad_a ? fabsf(sa / static_cast<float>(in)) : 0.0f;
    const float tb = grad_b ? fabsf(sb / static_cast<float>(out)) : 0.0f;
    sum[i] += ta + tb;
  }
}

__global__ void __launch_bounds__(kThreads)
    module_ratio_kernel(int64_t tokens, const float* __restrict__ delta_sq,
                        const float* __restrict__ base_sq, const bool* __restrict__ token_mask,
                        float* __restrict__ ratio_sum, float* __restrict__ token_count) {
  __shared__ float scratch[kWarps];
  float s = 0.0f, n = 0.0f;
  for (int64_t m = threadIdx.x; m < tokens; m += kThreads) {
    if (token_mask && !token_mask[m]) continue;
    s += sqrtf(delta_sq[m]) / sqrtf(base_sq[m]);
    n += 1.0f;
  }
  s = block_sum(s, scratch);
  n = block_sum(n, scratch);
  if (threadIdx.x == 0) {
    *ratio_sum += s;
    *token_count += n;
  }
}

template <typename T>
int rank_taylor(int64_t r, int64_t in, int64_t out, const void* a, const void* grad_a,
                const void* b, const void* grad_b, float* sum, void* stream) {
  rank_taylor_kernel<T><<<static_cast<unsigned>(r), kThreads, 0, as_stream(stream)>>>(
      r, in, out, static_cast<const T*>(a), static_cast<const T*>(grad_a),
      static_cast<const T*>(b), static_cast<const T*>(grad_b), sum);
  return launch_status();
}

}  // namespace

int rank_taylor_accumulate(DType dtype, int64_t r, int64_t in, int64_t out, const void* a,
                           const void* grad_a, const void* b, const void* grad_b, float* sum,
                           void* stream) {
  if (r < 0 || in < 0 || out < 0 || r > 0x7fffffff) return kInvalidArgument;
  if (r == 0) return kOk;
  if (!a || !b || !sum) return kInvalidArgument;
  if (dtype == DType::f32) return rank_taylor<float>(r, in, out, a, grad_a, b, grad_b, sum, stream);
  if (dtype == DType::bf16) return rank_taylor<bf16>(r, in, out, a, grad_a, b, grad_b, sum, stream);
  return kUnsupported;
}

int module_ratio_accumulate(int64_t tokens, const float* delta_sq, const float* base_sq,
                            const bool* token_mask, float* ratio_sum, float* token_count,
                            void* stream) {
  if (tokens < 0 || !ratio_sum || !token_count) return kInvalidArgument;
  if (tokens > 0 && (!delta_sq || !base_sq)) return kInvalidArgument;
  module_ratio_kernel<<<1, kThreads, 0, detail::as_stream(stream)>>>(
      tokens, delta_sq, base_sq, token_mask, ratio_sum, token_count);
  return detail::launch_status();
}

}  // namespace lightpeft::gpu
