// ggml block formats -> float32. The reference is python's `gguf.quants` (what transformers'
// GGUF loader runs), and the result must equal it bit for bit. Its numpy code evaluates every
// formula in float32, one rounded operation at a time, in a fixed order; so does this file:
//   - scales are widened from half exactly, then multiplied in float32 (d * sc, dmin * m) before
//     they meet the quants, as numpy does (not folded into one product per element);
//   - `a * q + m` / `a * q - m` must not become a fused multiply-add (one rounding instead of two),
//     hence floating-point contraction is switched off for this file below (it matters on targets
//     with FMA, e.g. -march=native, or clang's default -ffp-contract=on).
// Block layouts are those of ggml (little-endian); each decoder below states how an element's bits
// are found, as derived from the reference's reshapes.
#include "gguf_dequantize.h"

#include <cstring>

#include "lightpeft/core/error.h"

#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace lightpeft::io_detail {

namespace {

constexpr int kQK = 256;  // elements of a K-quant super-block

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);  // little-endian host (checked in gguf.cpp)
  return v;
}

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

float half_at(const uint8_t* p) { return half_to_float(load_u16(p)); }

float bits_to_float(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// ---- 32-element blocks -----------------------------------------------------------------------
// Q4_0 / Q4_1 / Q5_0 / Q5_1 pack element j < 16 in the low nibble of qs[j] and element j + 16 in
// its high nibble; Q5 adds bit j of the little-endian u32 qh as the fifth bit.

void q4_0(const uint8_t* b, float* out) {  // d(f16) qs[16]: d * (q - 8)
  const float d = half_at(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < 16; ++j) {
    out[j] = d * static_cast<float>(static_cast<int>(qs[j] & 0x0F) - 8);
    out[j + 16] = d * static_cast<float>(static_cast<int>(qs[j] >> 4) - 8);
  }
}

void q4_1(const uint8_t* b, float* out) {  // d(f16) m(f16) qs[16]: d * q + m
  const float d = half_at(b), m = half_at(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < 16; ++j) {
    out[j] = d * static_cast<float>(qs[j] & 0x0F) + m;
    out[j + 16] = d * static_cast<float>(qs[j] >> 4) + m;
  }
}

void q5_0(const uint8_t* b, float* out) {  // d(f16) qh(u32) qs[16]: d * (q - 16)
  const float d = half_at(b);
  const uint32_t qh = load_u32(b + 2);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < 32; ++j) {
    const int low = j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4);
    const int q = low | static_cast<int>(((qh >> j) & 1u) << 4);
    out[j] = d * static_cast<float>(q - 16);
  }
}

void q5_1(const uint8_t* b, float* out) {  // d(f16) m(f16) qh(u32) qs[16]: d * q + m
  const float d = half_at(b), m = half_at(b + 2);
  const uint32_t qh = load_u32(b + 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < 32; ++j) {
    const int low = j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4);
    const int q = low | static_cast<int>(((qh >> j) & 1u) << 4);
    out[j] = d * static_cast<float>(q) + m;
  }
}

void q8_0(const uint8_t* b, float* out) {  // d(f16) qs[32] (int8): q * d
  const float d = half_at(b);
  const int8_t* qs = reinterpret_cast<const int8_t*>(b + 2);
  for (int j = 0; j < 32; ++j) out[j] = static_cast<float>(qs[j]) * d;
}

// ---- 256-element super-blocks (K-quants) -------------------------------------------------------

// Q4_K/Q5_K's 12 scale bytes hold eight 6-bit scales and eight 6-bit mins: for j < 4,
// sc[j] = s[j] & 63 and min[j] = s[j + 4] & 63; for j >= 4 the low four bits come from s[j + 4]
// (scale: low nibble, min: high nibble) and the top two from the top bits of s[j - 4] / s[j].
void scale_min_k4(const uint8_t* s, int j, uint8_t& sc, uint8_t& mn) {
  if (j < 4) {
    sc = s[j] & 63;
    mn = s[j + 4] & 63;
  } else {
    sc = static_cast<uint8_t>((s[j + 4] & 0x0F) | ((s[j - 4] >> 2) & 0x30));
    mn = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 2) & 0x30));
  }
}

// d(f16) dmin(f16) scales[12] qs[128]. Sub-block j (32 elements) takes the low nibbles of
// qs[32 * (j / 2) ...] when j is even, the high nibbles when odd: (d * sc_j) * q - (dmin * m_j).
void q4_k(const uint8_t* b, float* out) {
  const float d = half_at(b), dmin = half_at(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qs = b + 16;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, mn;
    scale_min_k4(scales, j, sc, mn);
    const float dl = d * static_cast<float>(sc);
    const float ml = dmin * static_cast<float>(mn);
    const uint8_t* q = qs + 32 * (j / 2);
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) out[32 * j + l] = dl * static_cast<float>((q[l] >> shift) & 0x0F) - ml;
  }
}

// d(f16) dmin(f16) scales[12] qh[32] qs[128]: Q4_K's nibbles plus bit j of qh[l] as the fifth bit.
void q5_k(const uint8_t* b, float* out) {
  const float d = half_at(b), dmin = half_at(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + 48;
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, mn;
    scale_min_k4(scales, j, sc, mn);
    const float dl = d * static_cast<float>(sc);
    const float ml = dmin * static_cast<float>(mn);
    const uint8_t* q = qs + 32 * (j / 2);
    const int shift = 4 * (j % 2);
    for (int l = 0; l < 32; ++l) {
      const int v = ((q[l] >> shift) & 0x0F) | (((qh[l] >> j) & 1) << 4);
      out[32 * j + l] = dl * static_cast<float>(v) - ml;
    }
  }
}

// ql[128] qh[64] scales[16] (int8) d(f16). Element e = 128 h + r: its low four bits are the
// nibble (r / 64: 0 low, 1 high) of ql[64 h + r % 64], its top two bits are bits 2 (r / 32) of
// qh[32 h + r % 32]; value (d * scales[e / 16]) * (q - 32).
void q6_k(const uint8_t* b, float* out) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* scales = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_at(b + 208);
  float ds[16];
  for (int i = 0; i < 16; ++i) ds[i] = d * static_cast<float>(scales[i]);
  for (int e = 0; e < kQK; ++e) {
    const int h = e / 128, r = e % 128;
    const int low = (ql[64 * h + r % 64] >> (4 * (r / 64))) & 0x0F;
    const int high = (qh[32 * h + r % 32] >> (2 * (r / 32))) & 0x03;
    out[e] = ds[e / 16] * static_cast<float>((low | (high << 4)) - 32);
  }
}

// scales[16] qs[64] d(f16) dmin(f16). Element e = 128 h + r takes bits 2 (r / 32) of
// qs[32 h + r % 32]; group g = e / 16 has scale (d * (scales[g] & 15)) and min
// (dmin * (scales[g] >> 4)): value dl * q - ml.
void q2_k(const uint8_t* b, float* out) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = half_at(b + 80), dmin = half_at(b + 82);
  float dl[16], ml[16];
  for (int g = 0; g < 16; ++g) {
    dl[g] = d * static_cast<float>(scales[g] & 0x0F);
    ml[g] = dmin * static_cast<float>(scales[g] >> 4);
  }
  for (int e = 0; e < kQK; ++e) {
    const int h = e / 128, r = e % 128;
    const int q = (qs[32 * h + r % 32] >> (2 * (r / 32))) & 0x03;
    out[e] = dl[e / 16] * static_cast<float>(q) - ml[e / 16];
  }
}

// hmask[32] qs[64] scales[12] d(f16). Sixteen 6-bit signed scales: the low four bits of scale g
// are nibble g / 8 of scales[g % 8], the top two are bits 2 (g / 4) of scales[8 + g % 4]; minus 32.
// Element e = 128 h + r: two low bits from bits 2 (r / 32) of qs[32 h + r % 32]; 4 is subtracted
// when bit e / 32 of hmask[e % 32] is clear. Value (d * scale[e / 16]) * q.
void q3_k(const uint8_t* b, float* out) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* sb = b + 96;
  const float d = half_at(b + 108);
  float dl[16];
  for (int g = 0; g < 16; ++g) {
    const int low = (sb[g % 8] >> (4 * (g / 8))) & 0x0F;
    const int high = (sb[8 + g % 4] >> (2 * (g / 4))) & 0x03;
    const int sc = static_cast<int8_t>(static_cast<uint8_t>(low | (high << 4))) - 32;
    dl[g] = d * static_cast<float>(sc);
  }
  for (int e = 0; e < kQK; ++e) {
    const int h = e / 128, r = e % 128;
    const int low = (qs[32 * h + r % 32] >> (2 * (r / 32))) & 0x03;
    const int hbit = (hmask[e % 32] >> (e / 32)) & 1;
    const int q = low - ((hbit ^ 1) << 2);
    out[e] = dl[e / 16] * static_cast<float>(q);
  }
}

}  // namespace

float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exponent = (h >> 10) & 0x1Fu;
  const uint32_t mantissa = h & 0x03FFu;
  if (exponent == 0x1F) return bits_to_float(sign | 0x7F800000u | (mantissa << 13));  // inf, NaN
  if (exponent != 0) return bits_to_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Zero or subnormal: mantissa * 2^-24, exact in float (at most 10 significant bits).
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-08f;
  return sign ? -magnitude : magnitude;
}

void dequantize_blocks(GgmlType type, const uint8_t* src, float* dst, int64_t n_blocks) {
  const int64_t in = ggml_type_size(type), out = ggml_block_size(type);
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n_blocks) * 4);  // keeps every bit, NaNs included
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n_blocks; ++i) dst[i] = half_to_float(load_u16(src + 2 * i));
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n_blocks; ++i) dst[i] = bits_to_float(static_cast<uint32_t>(load_u16(src + 2 * i)) << 16);
      return;
    default:
      break;
  }
  void (*block)(const uint8_t*, float*) = nullptr;
  switch (type) {
    case GgmlType::Q4_0: block = q4_0; break;
    case GgmlType::Q4_1: block = q4_1; break;
    case GgmlType::Q5_0: block = q5_0; break;
    case GgmlType::Q5_1: block = q5_1; break;
    case GgmlType::Q8_0: block = q8_0; break;
    case GgmlType::Q2_K: block = q2_k; break;
    case GgmlType::Q3_K: block = q3_k; break;
    case GgmlType::Q4_K: block = q4_k; break;
    case GgmlType::Q5_K: block = q5_k; break;
    case GgmlType::Q6_K: block = q6_k; break;
    default:
      throw_error("internal: dequantize_blocks called for ", ggml_type_name(type));
  }
  for (int64_t i = 0; i < n_blocks; ++i) block(src + i * in, dst + i * out);
}

}  // namespace lightpeft::io_detail
