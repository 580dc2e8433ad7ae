#include "lightpeft/kernels/dropout.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <type_traits>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros_like.h>
#include <ATen/record_function.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/custom_function.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/philox.h"

namespace lightpeft::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

uint64_t seed_from_default_generator() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

// The keep decisions of 64 elements (16 Philox blocks from `first_block`): bit 4 l + j is word j
// of block first_block + l below `threshold`. first_block is a multiple of 16.
using KeepBits = uint64_t (*)(uint64_t first_block, std::array<uint32_t, 2> key, uint32_t threshold);

uint64_t keep_bits_scalar(uint64_t first_block, std::array<uint32_t, 2> key, uint32_t threshold) {
  uint64_t bits = 0;
  for (uint64_t l = 0; l < 16; ++l) {
    const uint64_t c = first_block + l;
    const auto words = philox4x32_10({static_cast<uint32_t>(c), static_cast<uint32_t>(c >> 32), 0, 0}, key);
    for (int j = 0; j < 4; ++j) bits |= static_cast<uint64_t>(words[j] < threshold) << (4 * l + j);
  }
  return bits;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define LIGHTPEFT_DROPOUT_AVX512 1
// GCC 12's avx512fintrin.h shifts through _mm512_undefined_epi32, which -Wuninitialized flags
// (GCC bug 105593); the value is never read.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
// The 16 blocks as the 16 lanes of AVX-512 registers, one register per Philox word: the round's
// two 32 x 32 -> 64-bit products are _mm512_mul_epu32 on the even lanes and on the odd lanes
// shifted down, their halves blended back. About 5x the scalar rounds on one core.
__attribute__((target("avx512f,bmi2"))) inline void mulhilo(__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(a, m), odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

__attribute__((target("avx512f,bmi2"))) uint64_t keep_bits_avx512(uint64_t first_block, std::array<uint32_t, 2> key,
                                                                  uint32_t threshold) {
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(0xD2511F53u)), m1 = _mm512_set1_epi32(static_cast<int>(0xCD9E8D57u));
  // first_block is a multiple of 16, so adding the lane index never carries into the high word.
  __m512i c0 = _mm512_add_epi32(_mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first_block))),
                                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
  __m512i c1 = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(first_block >> 32)));
  __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, lo0, hi1, lo1;
    mulhilo(c0, m0, hi0, lo0);
    mulhilo(c2, m1, hi1, lo1);
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(static_cast<int>(k0)));
    c1 = lo1;
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(static_cast<int>(k1)));
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  const __m512i t = _mm512_set1_epi32(static_cast<int>(threshold));
  // Bit l of each compare is block l's word j; spread to bit 4 l + j (pdep: BMI2).
  return _pdep_u64(_mm512_cmplt_epu32_mask(c0, t), 0x1111111111111111ull) |
         _pdep_u64(_mm512_cmplt_epu32_mask(c1, t), 0x2222222222222222ull) |
         _pdep_u64(_mm512_cmplt_epu32_mask(c2, t), 0x4444444444444444ull) |
         _pdep_u64(_mm512_cmplt_epu32_mask(c3, t), 0x8888888888888888ull);
}
#pragma GCC diagnostic pop
#endif

KeepBits keep_bits_for_this_cpu() {
#ifdef LIGHTPEFT_DROPOUT_AVX512
  static const KeepBits chosen =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("bmi2") ? keep_bits_avx512 : keep_bits_scalar;
  return chosen;
#else
  return keep_bits_scalar;
#endif
}

// Calls visit(g, bits) for every group g of 64 elements [64 g, min(64 g + 64, n)), in parallel:
// bit j says whether element 64 g + j keeps, which it does when word i % 4 of Philox block i / 4
// (counter i / 4, key = seed) is below (1 - p) * 2^32.
template <typename Visit>
void for_each_keep_group(int64_t n, double p, uint64_t seed, const Visit& visit) {
  // Below 2^32 for any p > 2^-33; a smaller p rounds 1 - p to 1 (then only the word 2^32 - 1 drops).
  const auto threshold = static_cast<uint32_t>(std::min<double>(std::ldexp(1.0 - p, 32), 4294967295.0));
  const std::array<uint32_t, 2> key = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
  const KeepBits keep_bits = keep_bits_for_this_cpu();
  at::parallel_for(0, (n + 63) / 64, 128, [&](int64_t begin, int64_t end) {
    for (int64_t g = begin; g < end; ++g) visit(g, keep_bits(static_cast<uint64_t>(g) * 16, key, threshold));
  });
}

// Calls visit(i, keep) for every element i < n (for_each_keep_group's decisions one by one).
template <typename Visit>
void for_each_keep(int64_t n, double p, uint64_t seed, const Visit& visit) {
  for_each_keep_group(n, p, seed, [&](int64_t g, uint64_t bits) {
    const int64_t first = g * 64, count = std::min<int64_t>(64, n - first);
    for (int64_t j = 0; j < count; ++j) visit(first + j, ((bits >> j) & 1u) != 0);
  });
}

// out[j] = bit j of `bits` ? in[j] * s : 0 for j < count <= 64 (float32), one group.
using ScaleKept = void (*)(const float* in, float* out, uint64_t bits, int64_t count, float s);

void scale_kept_scalar(const float* in, float* out, uint64_t bits, int64_t count, float s) {
  for (int64_t j = 0; j < count; ++j) out[j] = ((bits >> j) & 1u) != 0 ? in[j] * s : 0.0f;
}

#ifdef LIGHTPEFT_DROPOUT_AVX512
// Sixteen elements per masked multiply (zero where the bit is clear): the same product per kept
// element as the scalar loop, a twelfth of its instructions.
__attribute__((target("avx512f"))) void scale_kept_avx512(const float* in, float* out, uint64_t bits, int64_t count,
                                                          float s) {
  const __m512 sv = _mm512_set1_ps(s);
  for (int64_t j = 0; j < count; j += 16) {
    const int64_t left = count - j;
    const __mmask16 valid = left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1);
    const auto keep = static_cast<__mmask16>((bits >> j) & valid);
    _mm512_mask_storeu_ps(out + j, valid, _mm512_maskz_mul_ps(keep, _mm512_maskz_loadu_ps(valid, in + j), sv));
  }
}
#endif

ScaleKept scale_kept_for_this_cpu() {
#ifdef LIGHTPEFT_DROPOUT_AVX512
  static const ScaleKept chosen = __builtin_cpu_supports("avx512f") ? scale_kept_avx512 : scale_kept_scalar;
  return chosen;
#else
  return scale_kept_scalar;
#endif
}

// The keep-mask as bits, one 64-bit word per group of 64 elements (what the backward needs: a
// thirty-second of a float mask's memory), in a byte tensor.
at::Tensor empty_bit_mask(int64_t n, const at::TensorOptions& options) {
  return at::empty({(n + 63) / 64 * 8}, options.dtype(at::kByte));
}

// out = bit set ? in * scale : 0 over group g's elements of a contiguous tensor. The product is
// taken as ATen's x * mask would (scale rounded to x's type, multiplied in float), so the values
// equal x * dropout_mask(x, p, seed) bit for bit.
template <typename scalar_t>
void scale_group(const scalar_t* in, scalar_t* out, int64_t g, uint64_t bits, int64_t n, double scale,
                 ScaleKept scale_kept) {
  using opmath_t = at::opmath_type<scalar_t>;
  const int64_t first = g * 64, count = std::min<int64_t>(64, n - first);
  const opmath_t s = static_cast<opmath_t>(static_cast<scalar_t>(scale));
  if constexpr (std::is_same_v<scalar_t, float>) {
    scale_kept(in + first, out + first, bits, count, s);
  } else {
    for (int64_t j = 0; j < count; ++j)
      out[first + j] = ((bits >> j) & 1u) != 0 ? static_cast<scalar_t>(static_cast<opmath_t>(in[first + j]) * s) : scalar_t(0);
  }
}

// y = keep ? x * scale : 0 in one pass over x (contiguous), and the keep bits into `mask`
// (empty_bit_mask) when it is defined.
at::Tensor masked_scale_forward(const at::Tensor& x, double p, uint64_t seed, const at::Tensor& mask) {
  at::Tensor y = at::empty_like(x);
  const double scale = 1.0 / (1.0 - p);
  const ScaleKept scale_kept = scale_kept_for_this_cpu();
  uint64_t* words = mask.defined() ? reinterpret_cast<uint64_t*>(mask.mutable_data_ptr<uint8_t>()) : nullptr;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, x.scalar_type(), "lightpeft_dropout", [&] {
    const scalar_t* in = x.const_data_ptr<scalar_t>();
    scalar_t* out = y.mutable_data_ptr<scalar_t>();
    const int64_t n = x.numel();
    for_each_keep_group(n, p, seed, [&](int64_t g, uint64_t bits) {
      scale_group(in, out, g, bits, n, scale, scale_kept);
      if (words) words[g] = bits;
    });
  });
  return y;
}

// The backward: grad * scale where kept, 0 where dropped, from the forward's bits.
at::Tensor masked_scale_backward(const at::Tensor& grad, const at::Tensor& mask, double scale) {
  at::Tensor g = grad.contiguous();
  at::Tensor dx = at::empty_like(g);
  const ScaleKept scale_kept = scale_kept_for_this_cpu();
  const auto* words = reinterpret_cast<const uint64_t*>(mask.const_data_ptr<uint8_t>());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, g.scalar_type(), "lightpeft_dropout_backward", [&] {
    const scalar_t* in = g.const_data_ptr<scalar_t>();
    scalar_t* out = dx.mutable_data_ptr<scalar_t>();
    const int64_t n = g.numel();
    at::parallel_for(0, (n + 63) / 64, 256, [&](int64_t begin, int64_t end) {
      for (int64_t group = begin; group < end; ++group) scale_group(in, out, group, words[group], n, scale, scale_kept);
    });
  });
  return dx;
}

// Dropout as one autograd node that saves the mask as bits, where `x * mask` saved a float mask and
// took a second pass (and a third in the backward's multiply).
class DropoutFunction : public torch::autograd::Function<DropoutFunction> {
 public:
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, double p, uint64_t seed) {
    RECORD_FUNCTION("lightpeft::dropout", std::vector<c10::IValue>({x}));
    const at::Tensor xc = x.contiguous();
    at::Tensor mask = empty_bit_mask(xc.numel(), xc.options());
    at::Tensor y = masked_scale_forward(xc, p, seed, mask);
    ctx->save_for_backward({mask});
    ctx->saved_data["p"] = p;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    RECORD_FUNCTION("lightpeft::dropout_backward", std::vector<c10::IValue>({grads[0]}));
    const at::Tensor mask = ctx->get_saved_variables()[0];
    const double p = ctx->saved_data["p"].toDouble();
    return {masked_scale_backward(grads[0], mask, 1.0 / (1.0 - p)), at::Tensor(), at::Tensor()};
  }
};

}  // namespace

void check_dropout_probability(double p) {
  LP_CHECK(std::isfinite(p) && p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got ", p);
}

at::Tensor dropout_mask(const at::Tensor& like, double p, uint64_t seed) {
  check_dropout_probability(p);
  LP_CHECK(p < 1.0, "dropout_mask: p must be below 1 (p = 1 drops everything: no mask to scale)");
  at::Tensor mask = at::empty_like(like, like.options().device(at::kCPU), at::MemoryFormat::Contiguous);
  const double scale = 1.0 / (1.0 - p);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, mask.scalar_type(), "lightpeft_dropout_mask", [&] {
    scalar_t* out = mask.mutable_data_ptr<scalar_t>();
    const scalar_t kept = static_cast<scalar_t>(scale), dropped = static_cast<scalar_t>(0);
    for_each_keep(mask.numel(), p, seed, [&](int64_t i, bool keep) { out[i] = keep ? kept : dropped; });
  });
  return mask;
}

at::Tensor dropout(const at::Tensor& x, double p, bool training) {
  check_dropout_probability(p);
  if (!training || p == 0.0 || x.numel() == 0) return x;
  if (!x.device().is_cpu()) return at::dropout(x, p, training);
  if (p == 1.0) return x * at::zeros_like(x);
  const uint64_t seed = seed_from_default_generator();
  if (x.requires_grad() && c10::GradMode::is_enabled()) return DropoutFunction::apply(x, p, seed);
  RECORD_FUNCTION("lightpeft::dropout", std::vector<c10::IValue>({x}));
  return masked_scale_forward(x.contiguous(), p, seed, at::Tensor());  // no graph: no mask kept
}

}  // namespace lightpeft::kernels
