#include "lightpeft/models/attention_mask.h"

#include <limits>

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
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
                                 int64_t past_length, c10::ScalarType dtype, c10::Device device) {
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
  auto mask = at::zeros({batch, 1, queries, keys}, at::TensorOptions().device(device).dtype(dtype));
  return mask.masked_fill(visible.logical_not(), lowest_value(dtype));
}

}  // namespace lightpeft
