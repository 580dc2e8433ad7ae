#include "lightpeft/distributed/grad_sync.h"

#include <ATen/ops/abs.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/full.h>
#include <ATen/ops/zeros.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"

namespace lightpeft::dist {

GradientSync::GradientSync(ProcessGroup& group, std::vector<at::Tensor> params, int64_t bucket_bytes)
    : group_(group), params_(std::move(params)) {
  LP_CHECK(bucket_bytes > 0, "gradient sync: bucket_bytes must be positive");
  // Buckets in parameter order; a new one starts when dtype or device change or the size is reached.
  for (size_t i = 0; i < params_.size(); ++i) {
    const at::Tensor& p = params_[i];
    LP_CHECK(p.defined(), "gradient sync: parameter ", i, " is undefined");
    bool fresh = buckets_.empty();
    if (!fresh) {
      const at::Tensor& first = params_[buckets_.back().members.front()];
      fresh = first.scalar_type() != p.scalar_type() || first.device() != p.device() ||
              (buckets_.back().numel + p.numel()) * static_cast<int64_t>(p.element_size()) > bucket_bytes;
    }
    if (fresh) buckets_.emplace_back();
    buckets_.back().members.push_back(i);
    buckets_.back().numel += p.numel();
  }
  for (auto& b : buckets_) b.flat = at::empty({b.numel}, params_[b.members.front()].options());
}

int64_t GradientSync::num_elements() const {
  int64_t n = 0;
  for (const auto& b : buckets_) n += b.numel;
  return n;
}

at::Tensor GradientSync::pack_parameters(const Bucket& b) const {
  std::vector<at::Tensor> parts;
  for (size_t i : b.members) parts.push_back(params_[i].detach().reshape({-1}));
  return at::cat(parts);
}

void GradientSync::broadcast_parameters(int root) {
  torch::NoGradGuard no_grad;
  for (auto& b : buckets_) {
    at::Tensor flat = pack_parameters(b);
    group_.broadcast(flat, root);
    int64_t offset = 0;
    for (size_t i : b.members) {
      at::Tensor& p = params_[i];
      p.copy_(flat.narrow(0, offset, p.numel()).view(p.sizes()));
      offset += p.numel();
    }
  }
}

void GradientSync::average_gradients(std::vector<double>* sums) {
  torch::NoGradGuard no_grad;
  std::vector<ProcessGroup::Pending> pending;
  std::vector<std::vector<at::Tensor>> in_flight(buckets_.size() + 1);
  for (size_t k = 0; k < buckets_.size(); ++k) {
    Bucket& b = buckets_[k];
    int64_t offset = 0;
    for (size_t i : b.members) {
      const at::Tensor& p = params_[i];
      at::Tensor slot = b.flat.narrow(0, offset, p.numel());
      if (p.grad().defined())
        slot.copy_(p.grad().reshape({-1}));
      else
        slot.zero_();
      offset += p.numel();
    }
    in_flight[k] = {b.flat};
    pending.push_back(group_.all_reduce_sum_async(in_flight[k], "gradient all-reduce"));
  }
  if (sums && !sums->empty()) {
    at::Tensor t = at::empty({static_cast<int64_t>(sums->size())}, at::kDouble);
    for (size_t i = 0; i < sums->size(); ++i) t[static_cast<int64_t>(i)] = (*sums)[i];
    in_flight.back() = {t.to(group_.device())};
    pending.push_back(group_.all_reduce_sum_async(in_flight.back(), "loss all-reduce"));
  }
  for (auto& p : pending) p.wait();
  const double inv = 1.0 / group_.size();
  for (auto& b : buckets_) {
    b.flat.mul_(inv);
    int64_t offset = 0;
    for (size_t i : b.members) {
      at::Tensor& p = params_[i];
      at::Tensor avg = b.flat.narrow(0, offset, p.numel()).view(p.sizes());
      if (p.grad().defined())
        p.mutable_grad().copy_(avg);
      else
        p.mutable_grad() = avg.clone();
      offset += p.numel();
    }
  }
  if (sums && !sums->empty()) {
    at::Tensor t = in_flight.back()[0].to(at::kCPU);
    for (size_t i = 0; i < sums->size(); ++i) (*sums)[i] = t[static_cast<int64_t>(i)].item<double>();
  }
}

double GradientSync::max_replica_difference(int root) {
  torch::NoGradGuard no_grad;
  double local = 0.0;
  for (auto& b : buckets_) {
    at::Tensor mine = pack_parameters(b);
    at::Tensor theirs = mine.clone();
    group_.broadcast(theirs, root);
    local = std::max(local, mine.sub(theirs).abs().max().item<double>());
  }
  std::vector<at::Tensor> t{at::full({1}, local, at::TensorOptions(at::kDouble).device(group_.device()))};
  group_.all_reduce_max(t);
  return t[0].item<double>();
}

}  // namespace lightpeft::dist
