#pragma once
// Private to src/kernels: float vectors of W lanes (GCC/Clang vector extensions) and an exp on them,
// for the CPU kernels whose loops need exp (SwiGLU's sigmoid, the cross-entropy's softmax). ATen's
// own vectorised exp (Sleef) is not exported to code outside libtorch, and a loop calling std::exp
// does not vectorise.
//
// A kernel body is a template on W marked LP_VEC_INLINE; `LP_VEC_DISPATCH` instantiates it for
// AVX-512 (16 lanes), AVX2 + FMA (8) and the baseline x86-64 (4), each in a function compiled for
// that instruction set, and picks one by cpu_vector_width() (what this CPU supports at run time). The binary stays
// baseline x86-64: nothing here runs an instruction the CPU lacks.
#include <cstdint>

#include "lightpeft/kernels/cpu_vector_width.h"

#if defined(__GNUC__) || defined(__clang__)
#define LP_VEC_INLINE inline __attribute__((always_inline))
// Wide vectors passed between functions compiled without AVX would change the calling convention;
// every function here is inlined into a caller compiled for its width, so none is ever passed.
#pragma GCC diagnostic ignored "-Wpsabi"
#else
#error "src/kernels/vec_math.h needs GCC or Clang vector extensions"
#endif

namespace lightpeft::kernels::vec {

template <int W>
struct Lanes {
  typedef float F __attribute__((vector_size(W * 4)));
  typedef int32_t I __attribute__((vector_size(W * 4)));
  typedef uint32_t U __attribute__((vector_size(W * 4)));
  typedef uint16_t H __attribute__((vector_size(W * 2)));  // bf16 bits
};

template <int W>
LP_VEC_INLINE typename Lanes<W>::F load(const float* p) {
  typename Lanes<W>::F v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

template <int W>
LP_VEC_INLINE void store(float* p, typename Lanes<W>::F v) {
  __builtin_memcpy(p, &v, sizeof(v));
}

template <int W>
LP_VEC_INLINE typename Lanes<W>::F broadcast(float x) {
  return typename Lanes<W>::F{} + x;
}

template <int W>
LP_VEC_INLINE float reduce_add(typename Lanes<W>::F v) {
  float s = 0.0f;
  for (int j = 0; j < W; ++j) s += v[j];
  return s;
}

template <int W>
LP_VEC_INLINE float reduce_max(typename Lanes<W>::F v) {
  float m = v[0];
  for (int j = 1; j < W; ++j) m = v[j] > m ? v[j] : m;
  return m;
}

// exp(x), Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so r is exact to
// float rounding), exp(r) by its degree-7 minimax polynomial, 2^n put into the exponent bits
// (Cephes states about 2 ulp over [-87.3, 88.7]; the kernels' tests hold it to ATen's results within
// float tolerances). 3.4e38 for anything larger, and 0 below -87.3, where expf would give
// subnormals: a masked score (the dtype's lowest value) must give an exact 0, and subnormals in a
// softmax's output slow every later product that reads them (SmolLM2's fp32 LoRA step took 7.4 s
// with them in the attention probabilities, 1.7 s without). NaN stays NaN.
template <int W>
LP_VEC_INLINE typename Lanes<W>::F exp(typename Lanes<W>::F x) {
  using F = typename Lanes<W>::F;
  using I = typename Lanes<W>::I;
  const F hi = broadcast<W>(88.3762626647949f), lo = broadcast<W>(-87.3365447505531f);
  const auto underflow = x < lo;
  x = x > hi ? hi : x;
  x = underflow ? lo : x;
  // n = round(x / ln2): adding 1.5 * 2^23 rounds to an integer in float arithmetic.
  const F magic = broadcast<W>(12582912.0f);
  const F n = (x * 1.44269504088896341f + magic) - magic;
  const F r = x - n * 0.693359375f - n * -2.12194440e-4f;
  const F r2 = r * r;
  F p = broadcast<W>(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r2 + r + 1.0f;
  const I bits = (__builtin_convertvector(n, I) + 127) << 23;
  const F y = p * (F)bits;  // a vector cast between same-size types keeps the bits
  return underflow ? broadcast<W>(0.0f) : y;
}

// ---- bf16 as float: the high half of a float's bits. A load widens exactly; a store rounds to the
// nearest even (NaN stays a quiet NaN), as c10::BFloat16's conversion does.

template <int W>
LP_VEC_INLINE typename Lanes<W>::F load_bf16(const uint16_t* p) {
  using H = typename Lanes<W>::H;
  using U = typename Lanes<W>::U;
  H h;
  __builtin_memcpy(&h, p, sizeof(h));
  const U bits = __builtin_convertvector(h, U) << 16;
  return (typename Lanes<W>::F)bits;
}

// v's bits rounded to the nearest even multiple of 2^16 (its bf16 value in the high half); NaN not
// handled here.
template <int W>
LP_VEC_INLINE typename Lanes<W>::U round_bf16_bits(typename Lanes<W>::F v) {
  using U = typename Lanes<W>::U;
  const U bits = (U)v;
  return (bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u;
}

template <int W>
LP_VEC_INLINE void store_bf16(uint16_t* p, typename Lanes<W>::F v) {
  using H = typename Lanes<W>::H;
  using U = typename Lanes<W>::U;
  const U out = v != v ? U{} + 0x7FC0u : round_bf16_bits<W>(v) >> 16;
  const H h = __builtin_convertvector(out, H);
  __builtin_memcpy(p, &h, sizeof(h));
}

// v rounded to bf16's precision, kept as float (what a bf16 tensor op's float result becomes).
template <int W>
LP_VEC_INLINE typename Lanes<W>::F round_bf16(typename Lanes<W>::F v) {
  return v != v ? v : (typename Lanes<W>::F)round_bf16_bits<W>(v);
}

// ---- rows of floats (softmax-like passes); each row's tail goes through one padded vector, so that
// every element takes the same arithmetic.

template <int W>
LP_VEC_INLINE float row_max(const float* x, int64_t n) {
  using F = typename Lanes<W>::F;
  const int64_t body = n - n % W;
  F vmax = broadcast<W>(-__builtin_inff());
  for (int64_t i = 0; i < body; i += W) {
    const F v = load<W>(x + i);
    vmax = v > vmax ? v : vmax;
  }
  float m = reduce_max<W>(vmax);
  for (int64_t i = body; i < n; ++i) m = x[i] > m ? x[i] : m;
  return m;
}

// x[i] = exp(x[i] - m) in place; returns their sum.
template <int W>
LP_VEC_INLINE float exp_shifted_sum(float* x, int64_t n, float m) {
  using F = typename Lanes<W>::F;
  const int64_t body = n - n % W;
  F vsum = broadcast<W>(0.0f);
  for (int64_t i = 0; i < body; i += W) {
    const F e = exp<W>(load<W>(x + i) - m);
    store<W>(x + i, e);
    vsum += e;
  }
  float sum = reduce_add<W>(vsum);
  for (int64_t i = body; i < n; ++i) {
    float lane[W] = {};
    lane[0] = x[i] - m;
    const F e = exp<W>(load<W>(lane));
    x[i] = e[0];
    sum += e[0];
  }
  return sum;
}

template <int W>
LP_VEC_INLINE void scale_row(float* x, int64_t n, float k) {
  const int64_t body = n - n % W;
  for (int64_t i = 0; i < body; i += W) store<W>(x + i, load<W>(x + i) * k);
  for (int64_t i = body; i < n; ++i) x[i] *= k;
}

}  // namespace lightpeft::kernels::vec

// Defines `NAME(args...)` that runs `BODY<W>(args...)` with W = cpu_vector_width() lanes.
// PARAMS is the parenthesised parameter list, ARGS the parenthesised argument names.
#if defined(__x86_64__)
#define LP_VEC_DISPATCH(NAME, BODY, PARAMS, ARGS)                                           \
  __attribute__((target("avx512f,avx512dq,fma"))) void NAME##_w16 PARAMS { BODY<16> ARGS; } \
  __attribute__((target("avx2,fma"))) void NAME##_w8 PARAMS { BODY<8> ARGS; }              \
  void NAME##_w4 PARAMS { BODY<4> ARGS; }                                                  \
  void NAME PARAMS {                                                                       \
    const int width = ::lightpeft::kernels::cpu_vector_width();                            \
    if (width == 16)                                                                       \
      NAME##_w16 ARGS;                                                                     \
    else if (width == 8)                                                                   \
      NAME##_w8 ARGS;                                                                      \
    else                                                                                   \
      NAME##_w4 ARGS;                                                                      \
  }
#else
#define LP_VEC_DISPATCH(NAME, BODY, PARAMS, ARGS) \
  void NAME PARAMS { BODY<4> ARGS; }
#endif
