#include "lightpeft/pruning/rank_importance.h"

#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/kernels/importance.h"
#include "lightpeft/pruning/estimate_window.h"

namespace lightpeft {

RankImportance::RankImportance(const PeftModel& peft, int64_t total_steps)
    : total_steps_(total_steps) {
  LP_CHECK(total_steps > 0, "RankImportance: total_steps must be > 0, got ", total_steps);
  for (const auto& [path, layer] : peft.layers) {
    if (layer->rank() == 0) continue;
    paths_.push_back(path);
    entries_.push_back({layer->rank_factor_in(), layer->rank_factor_out(), {}});
  }
}

void RankImportance::accumulate(int64_t step) {
  if (!in_recorded_half(step, total_steps_)) return;
  for (auto& e : entries_) {
    if (kernels::use_fused(e.A)) {  // LIGHTPEFT_KERNELS=fused on CUDA: one launch, in place
      if (!e.sum.defined()) e.sum = at::zeros({e.A.size(0)}, e.A.options().dtype(at::kFloat));
      kernels::rank_taylor_accumulate(e.A, e.B, e.sum);
      continue;
    }
    auto s = rank_taylor_scores(e.A, e.B);
    if (!e.sum.defined())
      e.sum = s;
    else
      e.sum.add_(s.to(e.sum.device()));
  }
  ++recorded_steps_;
}

std::map<std::string, torch::Tensor> RankImportance::scores() const {
  std::map<std::string, torch::Tensor> out;
  for (size_t i = 0; i < paths_.size(); ++i) {
    const auto& e = entries_[i];
    out[paths_[i]] = e.sum.defined() && recorded_steps_ > 0
                         ? (e.sum / static_cast<double>(recorded_steps_)).to(at::kCPU)
                         : at::zeros({e.A.size(0)}, at::kFloat);
  }
  return out;
}

RankImportance::Snapshot RankImportance::snapshot() const {
  Snapshot s;
  s.steps = recorded_steps_;
  for (const auto& e : entries_) s.sums.push_back(e.sum.defined() ? e.sum.to(at::kCPU).clone() : torch::Tensor());
  return s;
}

std::map<std::string, torch::Tensor> RankImportance::scores_between(const Snapshot& from, const Snapshot& to) const {
  std::map<std::string, torch::Tensor> out;
  const int64_t steps = to.steps - from.steps;
  for (size_t i = 0; i < paths_.size(); ++i) {
    auto mean = at::zeros({entries_[i].A.size(0)}, at::kFloat);
    if (steps > 0 && to.sums[i].defined()) {
      auto diff = from.sums.size() > i && from.sums[i].defined() ? to.sums[i] - from.sums[i] : to.sums[i];
      mean = diff / static_cast<double>(steps);
    }
    out[paths_[i]] = mean;
  }
  return out;
}

}  // namespace lightpeft
