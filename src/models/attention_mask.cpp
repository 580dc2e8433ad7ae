#include "lightpeft/models/attention_mask.h"

#include <limits>

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cummax.h>
#include <ATen/ops/ones_like.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

double lowest_value(c10::ScalarType dtype) {
  if (dtype == at::kDouble) return std::numeric_limits<double>::lowest();
  if (dtype == at::kHalf) return static_cast<double>(std::numeric_limits<c10::Half>::lowest());
  if (dtype == at::kBFloat16) return static_cast<double>(std::numeric_limits<c10::BFloat16>::lowest());
  return std::numeric_limits<float>::lowest();
}

at::Tensor additive_attention_mask(const at::Tensor& attention_mask, c10::ScalarType dtype) {
  LP_CHECK(attention_mask.dim() == 2, "attention_mask: expected shape (batch, seq), got ",
           attention_mask.sizes());
  auto keep = attention_mask.to(dtype).unsqueeze(1).unsqueeze(2);  // (B, 1, 1, T)
  return (1.0 - keep) * lowest_value(dtype);
}

at::Tensor causal_attention_mask(const at::Tensor& attention_mask, int64_t batch, int64_t queries,
                                 int64_t past_length, c10::ScalarType dtype, c10::Device device,
                                 const at::Tensor& segment_ids) {
  const int64_t keys = past_length + queries;
  auto opts = at::TensorOptions().device(device).dtype(at::kLong);
  auto q = at::arange(past_length, keys, opts).unsqueeze(1);  // (T, 1)
  auto k = at::arange(keys, opts).unsqueeze(0);               // (1, S)
  auto visible = k.le(q).unsqueeze(0).unsqueeze(0);           // (1, 1, T, S)
  if (attention_mask.defined()) {
    LP_CHECK(attention_mask.dim() == 2 && attention_mask.size(0) == batch && attention_mask.size(1) == keys,
             "attention_mask: expected shape (", batch, ", ", keys, ") (past + new tokens), got ",
             attention_mask.sizes());
    visible = visible.logical_and(attention_mask.to(device).ne(0).view({batch, 1, 1, keys}));
  } else {
    visible = visible.expand({batch, 1, queries, keys});
  }
  if (segment_ids.defined()) {
    LP_CHECK(segment_ids.dim() == 2 && segment_ids.size(0) == batch && segment_ids.size(1) == keys,
             "segment_ids: expected shape (", batch, ", ", keys, "), got ", segment_ids.sizes());
    auto seg = segment_ids.to(device);
    auto same = seg.slice(1, past_length).unsqueeze(2).eq(seg.unsqueeze(1)).unsqueeze(1);  // (B, 1, T, S)
    visible = visible.logical_and(same);
  }
  auto mask = at::zeros({batch, 1, queries, keys}, at::TensorOptions().device(device).dtype(dtype));
  return mask.masked_fill(visible.logical_not(), lowest_value(dtype));
}

at::Tensor positions_within_segments(const at::Tensor& segment_ids) {
  LP_CHECK(segment_ids.dim() == 2, "segment_ids: expected shape (batch, seq), got ", segment_ids.sizes());
  const int64_t seq = segment_ids.size(1);
  auto index = at::arange(seq, segment_ids.options().dtype(at::kLong)).unsqueeze(0).expand_as(segment_ids);
  // The index where each token's segment starts: a running maximum of the positions where the id changes.
  auto starts = at::ones_like(segment_ids, at::kBool);
  if (seq > 1) starts.slice(1, 1).copy_(segment_ids.slice(1, 1).ne(segment_ids.slice(1, 0, seq - 1)));
  auto start_index = std::get<0>(at::cummax(index * starts.to(at::kLong), 1));
  return index - start_index;
}

at::Tensor default_positions(const ModelInputs& in, int64_t past_length) {
  if (in.position_ids.defined()) return in.position_ids;
  if (in.segment_ids.defined()) {
    LP_CHECK(past_length == 0, "packed sequences (segment_ids) take no key/value cache");
    return positions_within_segments(in.segment_ids);
  }
  const int64_t batch = in.input_ids.size(0), seq = in.input_ids.size(1);
  return at::arange(past_length, past_length + seq, in.input_ids.options().dtype(at::kLong))
      .unsqueeze(0)
      .expand({batch, seq});
}

}  // namespace lightpeft
