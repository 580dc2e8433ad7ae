#include "lightpeft/pruning/rank_importance.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/kernels/importance.h"
#include "lightpeft/pruning/estimate_window.h"

namespace lightpeft {

torch::Tensor rank_taylor_scores(const torch::Tensor& A, const torch::Tensor& B) {
  LP_CHECK(A.dim() == 2 && B.dim() == 2 && A.size(0) == B.size(1),
           "rank_taylor_scores: expected A (r, in) and B (out, r), got ", A.sizes(), " and ",
           B.sizes());
  torch::NoGradGuard no_grad;
  auto s = at::zeros({A.size(0)}, A.options().dtype(at::kFloat));
  // The official training_step: torch.stack([(A*gA).mean(1).abs(), (B*gB).mean(0).abs()]).sum(0).
  if (A.grad().defined()) s.add_(at::abs((A.detach() * A.grad()).to(at::kFloat).mean(1)));
  if (B.grad().defined()) s.add_(at::abs((B.detach() * B.grad()).to(at::kFloat).mean(0)));
  return s;
}

RankImportance::RankImportance(const PeftModel& peft, int64_t total_steps)
    : total_steps_(total_steps) {
  LP_CHECK(total_steps > 0, "RankImportance: total_steps must be > 0, got ", total_steps);
  for (const auto& kv : peft.lora) {
    if (kv.second->r() == 0) continue;
    paths_.push_back(kv.first);
    entries_.push_back({kv.second->lora_A->weight, kv.second->lora_B->weight, {}});
  }
  for (const auto& kv : peft.adapters) {
    if (kv.second->bottleneck_size() == 0) continue;
    paths_.push_back(kv.first);
    entries_.push_back({kv.second->adapter_down->weight, kv.second->adapter_up->weight, {}});
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

}  // namespace lightpeft
