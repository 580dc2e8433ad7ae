#include "lightpeft/models/prunable.h"

#include <algorithm>

#include <ATen/ops/tensor.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/linear.h"

namespace lightpeft {

UnitIndices unit_slice_indices(const UnitStructure& structure, const std::vector<int64_t>& units,
                               const char* what) {
  for (size_t i = 0; i < units.size(); ++i) {
    LP_CHECK(units[i] >= 0 && units[i] < structure.count, "keep ", what, ": ", units[i],
             " out of range [0, ", structure.count, ")");
    LP_CHECK(i == 0 || units[i] > units[i - 1], "keep ", what, ": indices must be ascending and distinct");
  }
  UnitIndices indices;
  for (const auto& s : structure.slices) {
    auto& idx = indices[{s.linear, s.dim}];
    for (int64_t u : units)
      for (int64_t j = 0; j < s.width; ++j) idx.push_back(s.offset + u * s.width + j);
  }
  // Slices of one fused linear (GPT-2's c_attn: q, k, v parts) interleave by offset.
  for (auto& [key, idx] : indices) std::sort(idx.begin(), idx.end());
  return indices;
}

void prune_unit_slices(torch::nn::Module& layer, const UnitStructure& structure,
                       const std::vector<int64_t>& kept, const char* what) {
  for (const auto& [key, idx] : unit_slice_indices(structure, kept, what))
    find_linear_slot(layer, key.first).get()->prune(at::tensor(idx, at::kLong), key.second);
}

}  // namespace lightpeft
