#pragma once
// Additive attention masks (0 where a query may attend, the dtype's lowest value where not), as
// HF builds them for encoders (padding only) and decoders (padding and causality).
#include <cstdint>

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include "lightpeft/models/model_io.h"

namespace lightpeft {

// HF's extended attention mask: (B, T) of 1/0 -> (B, 1, 1, T) of 0 / dtype-min, in `dtype`.
at::Tensor additive_attention_mask(const at::Tensor& attention_mask, c10::ScalarType dtype);

// Decoders: (B, 1, T, S) for T new queries at positions past_length .. past_length + T - 1 over
// S = past_length + T keys; query i sees key j when j <= past_length + i and the key is not padding
// (attention_mask (B, S), or undefined: no padding). A query row with no visible key (left padding)
// keeps key j = itself visible so softmax stays finite (its output is unused).
// segment_ids (B, S), when defined, also hides keys of another segment (packed sequences).
at::Tensor causal_attention_mask(const at::Tensor& attention_mask, int64_t batch, int64_t queries,
                                 int64_t past_length, c10::ScalarType dtype, c10::Device device,
                                 const at::Tensor& segment_ids = {});

// Positions 0, 1, ... restarting where the segment id changes: (B, T) int64 (packed sequences).
at::Tensor positions_within_segments(const at::Tensor& segment_ids);

// The positions a decoder uses for its inputs when none are given: per segment for packed
// sequences, else past_length .. past_length + T - 1 (HF's cache_position).
at::Tensor default_positions(const ModelInputs& inputs, int64_t past_length);

// The lowest finite value of `dtype` (float32 for anything that is not double, half or bfloat16).
double lowest_value(c10::ScalarType dtype);

}  // namespace lightpeft
