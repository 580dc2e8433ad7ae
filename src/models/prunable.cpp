#include "lightpeft/models/prunable.h"

#include <map>
#include <utility>

#include <ATen/ops/tensor.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/linear.h"

namespace lightpeft {

void prune_unit_slices(torch::nn::Module& layer, const UnitStructure& structure,
                       const std::vector<int64_t>& kept, const char* what) {
  for (size_t i = 0; i < kept.size(); ++i) {
    LP_CHECK(kept[i] >= 0 && kept[i] < structure.count, "keep ", what, ": ", kept[i],
             " out of range [0, ", structure.count, ")");
    LP_CHECK(i == 0 || kept[i] > kept[i - 1], "keep ", what, ": indices must be ascending and distinct");
  }
  // (linear, dim) -> the indices kept, in slice order (offsets ascend within a fused linear).
  std::map<std::pair<std::string, int64_t>, std::vector<int64_t>> rows;
  std::vector<std::pair<std::string, int64_t>> order;
  for (const auto& s : structure.slices) {
    auto key = std::make_pair(s.linear, s.dim);
    if (!rows.count(key)) order.push_back(key);
    auto& idx = rows[key];
    for (int64_t u : kept)
      for (int64_t j = 0; j < s.width; ++j) idx.push_back(s.offset + u * s.width + j);
  }
  for (const auto& key : order) {
    auto idx = rows[key];
    std::sort(idx.begin(), idx.end());
    find_linear_slot(layer, key.first).get()->prune(at::tensor(idx, at::kLong), key.second);
  }
}

}  // namespace lightpeft
