// LoRA update epilogue with the module-importance norms (fused_lora.h). Memory-bound on y: a
// block owns 8 full rows of y, so each row's two squared norms are one block's register sums
// (no atomics), and walks the columns 256 at a time; u's 8 rows and the column chunk's rows of B
// are staged in shared memory, up to 32 ranks at a time.
#include "fused_lora.h"

#include "device_util.cuh"

namespace lightpeft::gpu {
namespace {

using namespace detail;

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kRows = 8;        // rows of y per block
constexpr int kRankChunk = 32;  // ranks staged at a time

// (kThreads, 2): without a minimum of blocks per SM ptxas capped registers at 64 and spilled.
template <typename T>
__global__ void __launch_bounds__(kThreads, 2)
    lora_update_kernel(int64_t M, int64_t N, int64_t r, const T* __restrict__ u,
                       const T* __restrict__ b, float scaling, T* __restrict__ y,
                       float* __restrict__ delta_sq, float* __restrict__ base_sq) {
  __shared__ float us[kRows][kRankChunk];
  __shared__ float bsm[kThreads][kRankChunk + 1];  // +1: lane t reads row t, distinct banks
  __shared__ float partial[2][kRows][kWarps];
  const int64_t m0 = int64_t{blockIdx.x} * kRows;
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  float dsq[kRows] = {}, bsq[kRows] = {};

  for (int64_t n0 = 0; n0 < N; n0 += kThreads) {
    const int64_t n = n0 + threadIdx.x;
    float delta[kRows] = {};
    for (int64_t k0 = 0; k0 < r; k0 += kRankChunk) {
      const int kc = static_cast<int>(min(static_cast<int64_t>(kRankChunk), r - k0));
      __syncthreads();  // the previous chunk is consumed
      for (int e = threadIdx.x; e < kRows * kc; e += kThreads) {
        const int i = e / kc, kk = e % kc;
        const int64_t m = m0 + i;
        us[i][kk] = m < M ? to_float(u[m * r + k0 + kk]) : 0.0f;
      }
      for (int e = threadIdx.x; e < kThreads * kc; e += kThreads) {
        const int row = e / kc, kk = e % kc;
        const int64_t nb = n0 + row;
        bsm[row][kk] = nb < N ? to_float(b[nb * r + k0 + kk]) : 0.0f;
      }
      __syncthreads();
      for (int kk = 0; kk < kc; ++kk) {
        const float bv = bsm[threadIdx.x][kk];
#pragma unroll
        for (int i = 0; i < kRows; ++i) delta[i] = fmaf(us[i][kk], bv, delta[i]);
      }
    }
    if (n >= N) continue;
#pragma unroll
    for (int i = 0; i < kRows; ++i) {
      const int64_t m = m0 + i;
      if (m >= M) continue;
      const int64_t idx = m * N + n;
      const float base = to_float(y[idx]);
      const float d = scaling * delta[i];
      y[idx] = from_float<T>(base + d);
      dsq[i] = fmaf(d, d, dsq[i]);
      bsq[i] = fmaf(base, base, bsq[i]);
    }
  }

  if (!delta_sq && !base_sq) return;
#pragma unroll
  for (int i = 0; i < kRows; ++i) {
    const float ds = warp_sum(dsq[i]), bs = warp_sum(bsq[i]);
    if (lane == 0) {
      partial[0][i][warp] = ds;
      partial[1][i][warp] = bs;
    }
  }
  __syncthreads();
  if (threadIdx.x < kRows) {
    const int64_t m = m0 + threadIdx.x;
    if (m >= M) return;
    float ds = 0.0f, bs = 0.0f;
    for (int w = 0; w < kWarps; ++w) {
      ds += partial[0][threadIdx.x][w];
      bs += partial[1][threadIdx.x][w];
    }
    if (delta_sq) delta_sq[m] = ds;
    if (base_sq) base_sq[m] = bs;
  }
}

template <typename T>
int launch(int64_t M, int64_t N, int64_t r, const void* u, const void* b, float scaling, void* y,
           float* delta_sq, float* base_sq, void* stream) {
  const auto blocks = static_cast<unsigned>(ceil_div(M, kRows));
  lora_update_kernel<T><<<blocks, kThreads, 0, as_stream(stream)>>>(
      M, N, r, static_cast<const T*>(u), static_cast<const T*>(b), scaling, static_cast<T*>(y),
      delta_sq, base_sq);
  return launch_status();
}

}  // namespace

int lora_update(DType dtype, int64_t M, int64_t N, int64_t r, const void* u, const void* b,
                float scaling, void* y, float* delta_sq, float* base_sq, void* stream) {
  if (M < 0 || N < 0 || r < 0) return kInvalidArgument;
  if (M == 0) return kOk;
  if (!y || (r > 0 && (!u || !b))) return kInvalidArgument;
  if (ceil_div(M, kRows) > 0x7fffffff) return kUnsupported;
  if (dtype == DType::f32) return launch<float>(M, N, r, u, b, scaling, y, delta_sq, base_sq, stream);
  if (dtype == DType::bf16) return launch<bf16>(M, N, r, u, b, scaling, y, delta_sq, base_sq, stream);
  return kUnsupported;
}

}  // namespace lightpeft::gpu
