#pragma once
// Private to src/io: ggml block formats -> float32, the same values as python's
// `gguf.quants.dequantize` bit for bit (see gguf_dequantize.cpp for how that is kept).
#include <cstdint>

#include "lightpeft/io/gguf.h"

namespace lightpeft::io_detail {

// Dequantizes `n_blocks` consecutive blocks of `type` at `src` (ggml_type_size(type) bytes each)
// into `n_blocks * ggml_block_size(type)` floats at `dst`. `type` must satisfy ggml_can_dequantize.
void dequantize_blocks(GgmlType type, const uint8_t* src, float* dst, int64_t n_blocks);

// IEEE half (as stored) -> float, exact (subnormals, infinities and NaN payloads kept).
float half_to_float(uint16_t bits);

}  // namespace lightpeft::io_detail
