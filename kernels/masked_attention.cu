// Head-masked attention, forward and backward (masked_attention.h).
//
// Work split (SIMT, fp32 arithmetic for fp32 and bf16 inputs): a block of 4 warps owns 16 query
// rows of one (batch, head), 4 rows per warp. Keys come in tiles of 32, one key per lane, staged
// in shared memory as fp32 with rows padded to head_dim + 1 so that lanes reading "their" key row
// hit distinct banks. For the products with V (and K in the backward) lanes own head-dim columns
// instead, and the per-key weights travel by warp shuffle.
//
// Backward in two deterministic passes without atomics, both recomputing P from the saved
// log-sum-exp (nothing of size T x T is stored):
//   dq pass   (per query tile): delta_i = <dO_i, O_i>, dS = P * (dP - delta), dq = scale dS K;
//             also the mask-gradient partial sum of <dout_i, O_i> of the tile.
//   dkdv pass (per key tile):   dV = dropout(P)^T dO, dK = scale dS^T Q.
// with dO = head_mask[h] * dout. With dropout, dP is dropout(dP~) where dP~ = dO V^T, and
// delta_i = sum_j P_ij dP_ij = <dO_i, O_i> still holds since O = dropout(P) V.
//
// This is the simplest correct version (METHOD.md: correct first); a tensor-core (mma/wgmma)
// version is the next step once a GPU session has measured this one.
#include "masked_attention.h"

#include <cmath>

#include "device_util.cuh"

namespace lightpeft::gpu {
namespace {

using namespace detail;

constexpr int kWarps = 4;
constexpr int kThreads = 32 * kWarps;
constexpr int kRowsPerWarp = 4;
constexpr int kBlockRows = kWarps * kRowsPerWarp;  // query rows per block
constexpr int kKeyTile = 32;                        // keys per tile, one per lane
constexpr int kChunks = static_cast<int>(kAttentionMaxHeadDim / 32);  // head-dim columns per lane
constexpr unsigned kFull = 0xffffffffu;

// Offset of element (b, t, h, 0) in a (batch, seq, heads * head_dim) tensor.
__device__ __forceinline__ int64_t row_offset(const AttentionProblem& p, int64_t b, int64_t t,
                                              int64_t h) {
  return (b * p.seq + t) * p.heads * p.head_dim + h * p.head_dim;
}

// acc[r][:] += w[r][j] * tile[j][:] over the tile's keys: lane j holds w[r][j] (shuffled to all),
// each lane its kChunks head-dim columns of the tile row (shared memory, stride ldk). The product
// of one row block with one tile, shared by the forward (P x V) and the backward (dS x K).
__device__ __forceinline__ void accumulate_tile(float (&acc)[kRowsPerWarp][kChunks],
                                                const float (&w)[kRowsPerWarp],
                                                const float* __restrict__ tile, int keys, int ldk,
                                                int lane, int D) {
  for (int j = 0; j < keys; ++j) {
    float tj[kChunks];
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      tj[c] = d < D ? tile[j * ldk + d] : 0.0f;
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const float wj = __shfl_sync(kFull, w[r], j);
#pragma unroll
      for (int c = 0; c < kChunks; ++c) acc[r][c] += wj * tj[c];
    }
  }
}

// s[r] = q_{r0+r} . k_lane and dp[r] = dO_{r0+r} . v_lane: this warp's rows against the key
// that lane holds (q, dO rows stride D; k, v rows stride ldk, all in shared memory). Both backward
// kernels start from these two dot products.
__device__ __forceinline__ void scores_and_dprobs(float (&s)[kRowsPerWarp],
                                                  float (&dp)[kRowsPerWarp],
                                                  const float* __restrict__ qs,
                                                  const float* __restrict__ dos,
                                                  const float* __restrict__ ks,
                                                  const float* __restrict__ vs, int r0, int lane,
                                                  int ldk, int D) {
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) s[r] = dp[r] = 0.0f;
  for (int d = 0; d < D; ++d) {
    const float kd = ks[lane * ldk + d], vd = vs[lane * ldk + d];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      s[r] += qs[(r0 + r) * D + d] * kd;
      dp[r] += dos[(r0 + r) * D + d] * vd;
    }
  }
}

// s[r * ld + d] = factor * x[b, t0 + r, h, d] in fp32 for r < rows; zeros past the sequence.
template <typename T>
__device__ void load_rows(const AttentionProblem& p, const T* __restrict__ x, int64_t b,
                          int64_t h, int64_t t0, int rows, float* s, int ld, float factor = 1.0f) {
  const int D = static_cast<int>(p.head_dim);
  for (int e = threadIdx.x; e < rows * D; e += blockDim.x) {
    const int r = e / D, d = e % D;
    const int64_t t = t0 + r;
    s[r * ld + d] = t < p.seq ? factor * to_float(x[row_offset(p, b, t, h) + d]) : 0.0f;
  }
}

// The factor dropout applies to probability (b, h, i, j): 0 or 1 / (1 - p).
__device__ __forceinline__ float dropout_factor(const AttentionProblem& p, int64_t b, int64_t h,
                                                int64_t i, int64_t j) {
  if (p.dropout_p <= 0.0f) return 1.0f;
  const uint64_t index = static_cast<uint64_t>(((b * p.heads + h) * p.seq + i) * p.seq + j);
  return philox_uniform(p.seed, p.offset, index) >= p.dropout_p ? 1.0f / (1.0f - p.dropout_p)
                                                                : 0.0f;
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    attention_forward_kernel(AttentionProblem p, const T* __restrict__ q, const T* __restrict__ k,
                             const T* __restrict__ v, T* __restrict__ out,
                             T* __restrict__ out_unmasked, float* __restrict__ lse) {
  extern __shared__ float smem[];
  const int D = static_cast<int>(p.head_dim), ldk = D + 1;
  float* qs = smem;                    // [kBlockRows][D]
  float* ks = qs + kBlockRows * D;     // [kKeyTile][D + 1]
  float* vs = ks + kKeyTile * ldk;     // [kKeyTile][D + 1]
  const int64_t b = blockIdx.z, h = blockIdx.y, row0 = int64_t{blockIdx.x} * kBlockRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r0 = warp * kRowsPerWarp;
  load_rows(p, q, b, h, row0, kBlockRows, qs, D);

  // Online softmax per row: running max m, running sum l of exp(s - m), acc = sum exp(s - m) v.
  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][kChunks];
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.0f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) acc[r][c] = 0.0f;
  }

  for (int64_t key0 = 0; key0 < p.seq; key0 += kKeyTile) {
    __syncthreads();  // the previous tile is consumed (first time: qs is loaded)
    load_rows(p, k, b, h, key0, kKeyTile, ks, ldk);
    load_rows(p, v, b, h, key0, kKeyTile, vs, ldk);
    __syncthreads();
    const int64_t key = key0 + lane;
    const bool valid = key < p.seq;
    const float bias = valid && p.key_bias ? p.key_bias[b * p.seq + key] : 0.0f;

    float s[kRowsPerWarp] = {};
    for (int d = 0; d < D; ++d) {
      const float kd = ks[lane * ldk + d];
#pragma unroll
      for (int r = 0; r < kRowsPerWarp; ++r) s[r] += qs[(r0 + r) * D + d] * kd;
    }
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const float score = valid ? s[r] * p.scale + bias : -INFINITY;
      const float m_new = fmaxf(m[r], warp_max(score));
      // A row whose scores so far are all -inf (a -inf bias) keeps m = -inf; exp against 0 then.
      const float m_ref = m_new == -INFINITY ? 0.0f : m_new;
      const float prob = expf(score - m_ref);
      const float correction = expf(m[r] - m_ref);
      l[r] = l[r] * correction + warp_sum(prob);
      m[r] = m_new;
#pragma unroll
      for (int c = 0; c < kChunks; ++c) acc[r][c] *= correction;
      // The softmax sum l uses P; the context uses dropout(P).
      s[r] = valid ? prob * dropout_factor(p, b, h, row0 + r0 + r, key) : 0.0f;
    }
    const int keys = static_cast<int>(min(static_cast<int64_t>(kKeyTile), p.seq - key0));
    accumulate_tile(acc, s, vs, keys, ldk, lane, D);
  }

  const float mh = p.head_mask ? p.head_mask[h] : 1.0f;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t i = row0 + r0 + r;
    if (i >= p.seq) continue;
    const float inv_l = 1.0f / l[r];
    const int64_t base = row_offset(p, b, i, h);
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      if (d >= D) continue;
      const float o = acc[r][c] * inv_l;
      out[base + d] = from_float<T>(mh * o);
      if (out_unmasked) out_unmasked[base + d] = from_float<T>(o);
    }
    if (lane == 0) lse[(b * p.heads + h) * p.seq + i] = (m[r] == -INFINITY ? 0.0f : m[r]) + logf(l[r]);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    attention_backward_dq_kernel(AttentionProblem p, const T* __restrict__ q,
                                 const T* __restrict__ k, const T* __restrict__ v,
                                 const T* __restrict__ o, const T* __restrict__ dout,
                                 const float* __restrict__ lse, float* __restrict__ delta,
                                 float* __restrict__ dmask_partial, T* __restrict__ dq) {
  extern __shared__ float smem[];
  const int D = static_cast<int>(p.head_dim), ldk = D + 1;
  float* qs = smem;                    // [kBlockRows][D]
  float* dos = qs + kBlockRows * D;    // [kBlockRows][D]: dout, then dO = head_mask * dout
  float* ks = dos + kBlockRows * D;    // [kKeyTile][D + 1]
  float* vs = ks + kKeyTile * ldk;     // [kKeyTile][D + 1]
  float* warp_e = vs + kKeyTile * ldk; // [kWarps]
  const int64_t b = blockIdx.z, h = blockIdx.y, row0 = int64_t{blockIdx.x} * kBlockRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r0 = warp * kRowsPerWarp;
  load_rows(p, q, b, h, row0, kBlockRows, qs, D);
  load_rows(p, dout, b, h, row0, kBlockRows, dos, D);
  __syncthreads();

  const float mh = p.head_mask ? p.head_mask[h] : 1.0f;
  float row_lse[kRowsPerWarp], row_delta[kRowsPerWarp];
  float e_sum = 0.0f;
#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t i = row0 + r0 + r;
    const bool valid_row = i < p.seq;
    float e = 0.0f;  // <dout_i, O_i>
    if (valid_row)
      for (int d = lane; d < D; d += 32)
        e += dos[(r0 + r) * D + d] * to_float(o[row_offset(p, b, i, h) + d]);
    e = warp_sum(e);
    e_sum += e;
    row_delta[r] = mh * e;
    row_lse[r] = valid_row ? lse[(b * p.heads + h) * p.seq + i] : 0.0f;
    if (valid_row && lane == 0) delta[(b * p.heads + h) * p.seq + i] = row_delta[r];
    // This warp's own rows; other warps read them only after the next barrier.
    for (int d = lane; d < D; d += 32) dos[(r0 + r) * D + d] *= mh;
  }
  if (lane == 0) warp_e[warp] = e_sum;

  float acc[kRowsPerWarp][kChunks] = {};
  for (int64_t key0 = 0; key0 < p.seq; key0 += kKeyTile) {
    __syncthreads();
    load_rows(p, k, b, h, key0, kKeyTile, ks, ldk);
    load_rows(p, v, b, h, key0, kKeyTile, vs, ldk);
    __syncthreads();
    const int64_t key = key0 + lane;
    const bool valid = key < p.seq;
    const float bias = valid && p.key_bias ? p.key_bias[b * p.seq + key] : 0.0f;
    float s[kRowsPerWarp], dp[kRowsPerWarp];
    scores_and_dprobs(s, dp, qs, dos, ks, vs, r0, lane, ldk, D);
    float ds[kRowsPerWarp];
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int64_t i = row0 + r0 + r;
      const float prob = valid && i < p.seq ? expf(s[r] * p.scale + bias - row_lse[r]) : 0.0f;
      ds[r] = prob * (dp[r] * dropout_factor(p, b, h, i, key) - row_delta[r]);
    }
    const int keys = static_cast<int>(min(static_cast<int64_t>(kKeyTile), p.seq - key0));
    accumulate_tile(acc, ds, ks, keys, ldk, lane, D);
  }

#pragma unroll
  for (int r = 0; r < kRowsPerWarp; ++r) {
    const int64_t i = row0 + r0 + r;
    if (i >= p.seq) continue;
    const int64_t base = row_offset(p, b, i, h);
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int d = lane + 32 * c;
      if (d < D) dq[base + d] = from_float<T>(p.scale * acc[r][c]);
    }
  }
  if (dmask_partial && threadIdx.x == 0) {  // warp_e was written before the loop's barriers
    float total = 0.0f;
    for (int w = 0; w < kWarps; ++w) total += warp_e[w];
    dmask_partial[(b * p.heads + h) * gridDim.x + blockIdx.x] = total;
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads)
    attention_backward_dkdv_kernel(AttentionProblem p, const T* __restrict__ q,
                                   const T* __restrict__ k, const T* __restrict__ v,
                                   const T* __restrict__ dout, const float* __restrict__ lse,
                                   const float* __restrict__ delta, T* __restrict__ dk,
                                   T* __restrict__ dv) {
  extern __shared__ float smem[];
  const int D = static_cast<int>(p.head_dim), ldk = D + 1, ldp = kKeyTile + 1;
  float* ks = smem;                          // [kKeyTile][D + 1]
  float* vs = ks + kKeyTile * ldk;           // [kKeyTile][D + 1]
  float* qs = vs + kKeyTile * ldk;           // [kBlockRows][D]
  float* dos = qs + kBlockRows * D;          // [kBlockRows][D]: dO = head_mask * dout
  float* ps = dos + kBlockRows * D;          // [kBlockRows][kKeyTile + 1]: dropout(P)
  float* dss = ps + kBlockRows * ldp;        // [kBlockRows][kKeyTile + 1]: dS
  float* row_lse = dss + kBlockRows * ldp;   // [kBlockRows]
  float* row_delta = row_lse + kBlockRows;   // [kBlockRows]
  const int64_t b = blockIdx.z, h = blockIdx.y, key0 = int64_t{blockIdx.x} * kKeyTile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, r0 = warp * kRowsPerWarp;
  load_rows(p, k, b, h, key0, kKeyTile, ks, ldk);
  load_rows(p, v, b, h, key0, kKeyTile, vs, ldk);

  const float mh = p.head_mask ? p.head_mask[h] : 1.0f;
  const int64_t key = key0 + lane;
  const bool valid = key < p.seq;
  const float bias = valid && p.key_bias ? p.key_bias[b * p.seq + key] : 0.0f;
  // Lane `lane` accumulates dK and dV of key `lane` over this warp's share of the head dim.
  const int per_warp = (D + kWarps - 1) / kWarps;  // <= 32
  const int d0 = warp * per_warp;
  float dk_acc[32] = {}, dv_acc[32] = {};

  for (int64_t row0 = 0; row0 < p.seq; row0 += kBlockRows) {
    __syncthreads();  // the previous query tile is consumed (first time: ks/vs are loaded)
    load_rows(p, q, b, h, row0, kBlockRows, qs, D);
    load_rows(p, dout, b, h, row0, kBlockRows, dos, D, mh);
    if (threadIdx.x < kBlockRows) {
      const int64_t i = row0 + threadIdx.x;
      row_lse[threadIdx.x] = i < p.seq ? lse[(b * p.heads + h) * p.seq + i] : 0.0f;
      row_delta[threadIdx.x] = i < p.seq ? delta[(b * p.heads + h) * p.seq + i] : 0.0f;
    }
    __syncthreads();
    // Phase 1: dropout(P) and dS of this warp's 4 rows against the block's 32 keys.
    float s[kRowsPerWarp], dp[kRowsPerWarp];
    scores_and_dprobs(s, dp, qs, dos, ks, vs, r0, lane, ldk, D);
#pragma unroll
    for (int r = 0; r < kRowsPerWarp; ++r) {
      const int64_t i = row0 + r0 + r;
      const float prob =
          valid && i < p.seq ? expf(s[r] * p.scale + bias - row_lse[r0 + r]) : 0.0f;
      const float f = dropout_factor(p, b, h, i, key);
      ps[(r0 + r) * ldp + lane] = prob * f;
      dss[(r0 + r) * ldp + lane] = prob * (dp[r] * f - row_delta[r0 + r]);
    }
    __syncthreads();
    // Phase 2: dV_j += sum_i dropout(P)_ij dO_i, dK_j += sum_i dS_ij q_i (this warp's columns).
    for (int r = 0; r < kBlockRows; ++r) {
      const float pr = ps[r * ldp + lane], dr = dss[r * ldp + lane];
#pragma unroll
      for (int c = 0; c < 32; ++c) {
        const int d = d0 + c;
        if (c < per_warp && d < D) {
          dv_acc[c] += pr * dos[r * D + d];
          dk_acc[c] += dr * qs[r * D + d];
        }
      }
    }
  }

  if (!valid) return;
  const int64_t base = row_offset(p, b, key, h);
#pragma unroll
  for (int c = 0; c < 32; ++c) {
    const int d = d0 + c;
    if (c < per_warp && d < D) {
      dk[base + d] = from_float<T>(p.scale * dk_acc[c]);
      dv[base + d] = from_float<T>(dv_acc[c]);
    }
  }
}

// Dynamic shared memory of each kernel for a head dim.
size_t forward_smem(int64_t D) { return sizeof(float) * (kBlockRows * D + 2 * kKeyTile * (D + 1)); }
size_t dq_smem(int64_t D) {
  return sizeof(float) * (2 * kBlockRows * D + 2 * kKeyTile * (D + 1) + kWarps);
}
size_t dkdv_smem(int64_t D) {
  return sizeof(float) * (2 * kKeyTile * (D + 1) + 2 * kBlockRows * D +
                          2 * kBlockRows * (kKeyTile + 1) + 2 * kBlockRows);
}

// Kernels above 48 KB of dynamic shared memory must say so before their launch.
template <typename Kernel>
int allow_smem(Kernel kernel, size_t bytes) {
  if (bytes <= 48 * 1024) return 0;
  return static_cast<int>(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               static_cast<int>(bytes)));
}

int check_problem(const AttentionProblem& p) {
  if (p.batch < 0 || p.seq < 0 || p.heads < 0 || p.head_dim < 0) return kInvalidArgument;
  if (!(p.dropout_p >= 0.0f && p.dropout_p < 1.0f)) return kInvalidArgument;
  if (p.head_dim == 0 || p.head_dim > kAttentionMaxHeadDim) return kUnsupported;
  if (p.batch > 65535 || p.heads > 65535) return kUnsupported;  // grid z / y limits
  return kOk;
}

bool empty(const AttentionProblem& p) { return p.batch == 0 || p.seq == 0 || p.heads == 0; }

template <typename T>
int forward(const AttentionProblem& p, const void* q, const void* k, const void* v, void* out,
            void* out_unmasked, float* lse, void* stream) {
  const dim3 grid(static_cast<unsigned>(attention_query_tiles(p.seq)),
                  static_cast<unsigned>(p.heads), static_cast<unsigned>(p.batch));
  const size_t smem = forward_smem(p.head_dim);
  if (int st = allow_smem(attention_forward_kernel<T>, smem)) return st;
  attention_forward_kernel<T><<<grid, kThreads, smem, as_stream(stream)>>>(
      p, static_cast<const T*>(q), static_cast<const T*>(k), static_cast<const T*>(v),
      static_cast<T*>(out), static_cast<T*>(out_unmasked), lse);
  return launch_status();
}

template <typename T>
int backward(const AttentionProblem& p, const void* q, const void* k, const void* v,
             const void* o, const void* dout, const float* lse, float* delta,
             float* dmask_partial, void* dq, void* dk, void* dv, void* stream) {
  const auto* qt = static_cast<const T*>(q);
  const auto* kt = static_cast<const T*>(k);
  const auto* vt = static_cast<const T*>(v);
  const auto* dot = static_cast<const T*>(dout);
  const dim3 grid_q(static_cast<unsigned>(attention_query_tiles(p.seq)),
                    static_cast<unsigned>(p.heads), static_cast<unsigned>(p.batch));
  const size_t smem_q = dq_smem(p.head_dim);
  if (int st = allow_smem(attention_backward_dq_kernel<T>, smem_q)) return st;
  attention_backward_dq_kernel<T><<<grid_q, kThreads, smem_q, as_stream(stream)>>>(
      p, qt, kt, vt, static_cast<const T*>(o), dot, lse, delta, dmask_partial,
      static_cast<T*>(dq));
  if (int st = launch_status()) return st;
  // Same stream: the dkdv pass reads the delta the dq pass wrote.
  const dim3 grid_k(static_cast<unsigned>(ceil_div(p.seq, kKeyTile)),
                    static_cast<unsigned>(p.heads), static_cast<unsigned>(p.batch));
  const size_t smem_k = dkdv_smem(p.head_dim);
  if (int st = allow_smem(attention_backward_dkdv_kernel<T>, smem_k)) return st;
  attention_backward_dkdv_kernel<T><<<grid_k, kThreads, smem_k, as_stream(stream)>>>(
      p, qt, kt, vt, dot, lse, delta, static_cast<T*>(dk), static_cast<T*>(dv));
  return launch_status();
}

}  // namespace

int64_t attention_query_tiles(int64_t seq) { return detail::ceil_div(seq, kBlockRows); }

int masked_attention_forward(DType dtype, const AttentionProblem& p, const void* q, const void* k,
                             const void* v, void* out, void* out_unmasked, float* lse,
                             void* stream) {
  if (int st = check_problem(p)) return st;
  if (empty(p)) return kOk;
  if (!q || !k || !v || !out || !lse) return kInvalidArgument;
  if (dtype == DType::f32) return forward<float>(p, q, k, v, out, out_unmasked, lse, stream);
  if (dtype == DType::bf16) return forward<bf16>(p, q, k, v, out, out_unmasked, lse, stream);
  return kUnsupported;
}

int masked_attention_backward(DType dtype, const AttentionProblem& p, const void* q, const void* k,
                              const void* v, const void* o, const void* dout, const float* lse,
                              float* delta, float* dmask_partial, void* dq, void* dk, void* dv,
                              void* stream) {
  if (int st = check_problem(p)) return st;
  if (empty(p)) return kOk;
  if (!q || !k || !v || !o || !dout || !lse || !delta || !dq || !dk || !dv) return kInvalidArgument;
  if (dtype == DType::f32)
    return backward<float>(p, q, k, v, o, dout, lse, delta, dmask_partial, dq, dk, dv, stream);
  if (dtype == DType::bf16)
    return backward<bf16>(p, q, k, v, o, dout, lse, delta, dmask_partial, dq, dk, dv, stream);
  return kUnsupported;
}

}  // namespace lightpeft::gpu
