#pragma once
// Data-parallel gradient averaging over the trainable parameters only (with PEFT a few hundred KB):
// after the last backward of an optimizer step the gradients are packed into flat buckets (one per
// dtype and device, at most `bucket_bytes` each), all buckets are all-reduced concurrently, divided by
// the world size and copied back. With such small gradients the all-reduce costs less than the
// hooks that would overlap it with backward, so it runs after backward (see docs/distributed.md).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lightpeft/distributed/process_group.h"

namespace lightpeft::dist {

class GradientSync {
 public:
  // `params`: every rank passes its trainable parameters in the same order with the same shapes.
  GradientSync(ProcessGroup& group, std::vector<at::Tensor> params, int64_t bucket_bytes = 4 << 20);

  // Every rank's parameters become root's (as DDP does when it wraps a model).
  void broadcast_parameters(int root = 0);
  // Each parameter's .grad() becomes the mean over ranks; a rank without a gradient for a
  // parameter (it saw no batch) counts as zeros. `sums`, if given, are summed over ranks alongside.
  void average_gradients(std::vector<double>* sums = nullptr);
  // max |p - p_root| over all parameters and ranks: 0 when the replicas are identical.
  double max_replica_difference(int root = 0);

  int64_t num_buckets() const { return static_cast<int64_t>(buckets_.size()); }
  int64_t num_elements() const;

 private:
  struct Bucket {
    std::vector<size_t> members;  // indices into params_
    int64_t numel = 0;
    at::Tensor flat;
  };
  at::Tensor pack_parameters(const Bucket& b) const;

  ProcessGroup& group_;
  std::vector<at::Tensor> params_;
  std::vector<Bucket> buckets_;
};

}  // namespace lightpeft::dist
