// GEMM over kept-index lists (pruned_gemm.h). One block computes a 64 x 64 tile of C; the tiles
// of A and of the gathered B are staged in shared memory, the gather indices of the tile once per
// block (n) and once per k step (k). B is loaded along whichever of its two dims is contiguous, so
// both the forward (rows of W) and the input gradient (columns of W) read coalesced.
#include "pruned_gemm.h"

#include <mma.h>

#include "device_util.cuh"

namespace lightpeft::gpu {
namespace {

using namespace detail;

constexpr int kTile = 64;  // C tile is kTile x kTile
constexpr int kThreads = 256;

// Physical offsets of the tile's gathered rows (n) of B.
__device__ __forceinline__ void load_n_offsets(const GatheredMatrix& b, int64_t n0, int64_t N,
                                               int64_t* n_off) {
  for (int i = threadIdx.x; i < kTile; i += kThreads) {
    const int64_t n = n0 + i;
    n_off[i] = n < N ? (b.n_index ? b.n_index[n] : n) * b.stride_n : 0;
  }
}

template <int BK>
__device__ __forceinline__ void load_k_offsets(const GatheredMatrix& b, int64_t k0, int64_t K,
                                               int64_t* k_off) {
  for (int i = threadIdx.x; i < BK; i += kThreads) {
    const int64_t k = k0 + i;
    k_off[i] = k < K ? (b.k_index ? b.k_index[k] : k) * b.stride_k : 0;
  }
}

// Element e of a kTile x BK tile as (row, k): k fastest when the source is contiguous along k.
template <int BK>
__device__ __forceinline__ void tile_coords(int e, bool k_fast, int& row, int& kk) {
  if (k_fast) {
    row = e / BK;
    kk = e % BK;
  } else {
    row = e % kTile;
    kk = e / kTile;
  }
}

// fp32: FFMA, 4 x 4 outputs per thread at rows ty + 16 i, cols tx + 16 j (conflict-free reads).
constexpr int kF32K = 16;

__global__ void __launch_bounds__(kThreads)
    gemm_f32_kernel(int64_t M, int64_t N, int64_t K, const float* __restrict__ a, int64_t lda,
                    GatheredMatrix b, const float* __restrict__ bias,
                    const int64_t* __restrict__ bias_index, float* __restrict__ c, int64_t ldc) {
  __shared__ float as[kF32K][kTile + 4];
  __shared__ float bs[kF32K][kTile + 4];
  __shared__ int64_t n_off[kTile], k_off[kF32K];
  const int64_t m0 = int64_t{blockIdx.y} * kTile, n0 = int64_t{blockIdx.x} * kTile;
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  const auto* bp = static_cast<const float*>(b.ptr);
  const bool b_k_fast = b.stride_k == 1;
  load_n_offsets(b, n0, N, n_off);
  float acc[4][4] = {};
  for (int64_t k0 = 0; k0 < K; k0 += kF32K) {
    load_k_offsets<kF32K>(b, k0, K, k_off);
    __syncthreads();  // offsets visible; the previous step's tiles are consumed
    for (int e = threadIdx.x; e < kTile * kF32K; e += kThreads) {
      int row, kk;
      tile_coords<kF32K>(e, true, row, kk);
      const int64_t m = m0 + row, k = k0 + kk;
      as[kk][row] = m < M && k < K ? a[m * lda + k] : 0.0f;
      tile_coords<kF32K>(e, b_k_fast, row, kk);
      const int64_t n = n0 + row;
      bs[kk][row] = n < N && k0 + kk < K ? bp[n_off[row] + k_off[kk]] : 0.0f;
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kF32K; ++kk) {
      float av[4], bv[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        av[i] = as[kk][ty + 16 * i];
        bv[i] = bs[kk][tx + 16 * i];
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const int64_t m = m0 + ty + 16 * i;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int64_t n = n0 + tx + 16 * j;
      if (n >= N) continue;
      float v = acc[i][j];
      if (bias) v += bias[bias_index ? bias_index[n] : n];
      c[m * ldc + n] = v;
    }
  }
}

// bf16: 8 warps as 4 (m) x 2 (n), each a 16 x 32 piece of the tile as two 16 x 16 WMMA
// accumulators in fp32. Rows of the staged tiles are padded to 40 elements (80 bytes): fragment
// pointers stay 32-byte aligned and consecutive rows start in different banks.
constexpr int kBf16K = 32;
constexpr int kLd = kBf16K + 8;

__global__ void __launch_bounds__(kThreads)
    gemm_bf16_kernel(int64_t M, int64_t N, int64_t K, const bf16* __restrict__ a, int64_t lda,
                     GatheredMatrix b, const bf16* __restrict__ bias,
                     const int64_t* __restrict__ bias_index, bf16* __restrict__ c, int64_t ldc) {
  namespace wmma = nvcuda::wmma;
  __shared__ __align__(32) bf16 as[kTile][kLd];  // [m][k]
  __shared__ __align__(32) bf16 bs[kTile][kLd];  // [n][k]: B^T tile, read as col-major K x N
  __shared__ __align__(32) float cs[kTile][kTile + 4];
  __shared__ int64_t n_off[kTile], k_off[kBf16K];
  const int64_t m0 = int64_t{blockIdx.y} * kTile, n0 = int64_t{blockIdx.x} * kTile;
  const int warp = threadIdx.x / 32, wm = warp % 4, wn = warp / 4;
  const auto* bp = static_cast<const bf16*>(b.ptr);
  const bool b_k_fast = b.stride_k == 1;
  const bf16 zero = __float2bfloat16(0.0f);
  load_n_offsets(b, n0, N, n_off);

  wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2];
  wmma::fill_fragment(acc[0], 0.0f);
  wmma::fill_fragment(acc[1], 0.0f);
  for (int64_t k0 = 0; k0 < K; k0 += kBf16K) {
    load_k_offsets<kBf16K>(b, k0, K, k_off);
    __syncthreads();
    for (int e = threadIdx.x; e < kTile * kBf16K; e += kThreads) {
      int row, kk;
      tile_coords<kBf16K>(e, true, row, kk);
      const int64_t m = m0 + row, k = k0 + kk;
      as[row][kk] = m < M && k < K ? a[m * lda + k] : zero;
      tile_coords<kBf16K>(e, b_k_fast, row, kk);
      const int64_t n = n0 + row;
      bs[row][kk] = n < N && k0 + kk < K ? bp[n_off[row] + k_off[kk]] : zero;
    }
    __syncthreads();
#pragma unroll
    for (int ks = 0; ks < kBf16K; ks += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> af;
      wmma::load_matrix_sync(af, &as[wm * 16][ks], kLd);
#pragma unroll
      for (int f = 0; f < 2; ++f) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> bfrag;
        wmma::load_matrix_sync(bfrag, &bs[wn * 32 + f * 16][ks], kLd);
        wmma::mma_sync(acc[f], af, bfrag, acc[f]);
      }
    }
    __syncthreads();
  }
#pragma unroll
  for (int f = 0; f < 2; ++f)
    wmma::store_matrix_sync(&cs[wm * 16][wn * 32 + f * 16], acc[f], kTile + 4,
                            wmma::mem_row_major);
  __syncthreads();
  for (int e = threadIdx.x; e < kTile * kTile; e += kThreads) {
    const int row = e / kTile, col = e % kTile;
    const int64_t m = m0 + row, n = n0 + col;
    if (m >= M || n >= N) continue;
    float v = cs[row][col];
    if (bias) v += __bfloat162float(bias[bias_index ? bias_index[n] : n]);
    c[m * ldc + n] = __float2bfloat16(v);
  }
}

}  // namespace

int pruned_gemm(DType dtype, int64_t M, int64_t N, int64_t K, const void* a, int64_t lda,
                const GatheredMatrix& b, const void* bias, const int64_t* bias_index, void* c,
                int64_t ldc, void* stream) {
  if (M < 0 || N < 0 || K < 0 || lda < K || ldc < N) return kInvalidArgument;
  if (M == 0 || N == 0) return kOk;
  if (!c || (K > 0 && (!a || !b.ptr))) return kInvalidArgument;
  if (ceil_div(M, kTile) > 65535) return kUnsupported;  // grid y limit
  const dim3 grid(static_cast<unsigned>(ceil_div(N, kTile)),
                  static_cast<unsigned>(ceil_div(M, kTile)));
  if (dtype == DType::f32) {
    gemm_f32_kernel<<<grid, kThreads, 0, as_stream(stream)>>>(
        M, N, K, static_cast<const float*>(a), lda, b, static_cast<const float*>(bias), bias_index,
        static_cast<float*>(c), ldc);
    return launch_status();
  }
  if (dtype == DType::bf16) {
    gemm_bf16_kernel<<<grid, kThreads, 0, as_stream(stream)>>>(
        M, N, K, static_cast<const bf16*>(a), lda, b, static_cast<const bf16*>(bias), bias_index,
        static_cast<bf16*>(c), ldc);
    return launch_status();
  }
  return kUnsupported;
}

}  // namespace lightpeft::gpu
