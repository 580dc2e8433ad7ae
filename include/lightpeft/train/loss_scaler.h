#pragma once
// Dynamic loss scaling for fp16 autocast, with torch.cuda.amp.GradScaler's rule: the loss is
// multiplied by a scale before backward so small fp16 gradients do not flush to zero; gradients are
// divided by it again before clipping; a step whose gradients hold an inf or NaN is skipped and the
// scale halved; after `growth_interval` clean steps in a row the scale doubles.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace lightpeft {

class DynamicLossScaler {
 public:
  explicit DynamicLossScaler(double init_scale = 65536.0, double growth_factor = 2.0,
                             double backoff_factor = 0.5, int64_t growth_interval = 2000);
  at::Tensor scale(const at::Tensor& loss) const;
  // Divides every defined gradient of `params` by the scale. Returns false when some gradient is
  // not finite: the caller skips the optimizer step (one host sync per step).
  bool unscale(const std::vector<at::Tensor>& params) const;
  // Records whether the step was taken and adapts the scale.
  void update(bool step_was_finite);
  double value() const { return scale_; }

 private:
  double scale_;
  double growth_factor_;
  double backoff_factor_;
  int64_t growth_interval_;
  int64_t clean_steps_ = 0;
};

}  // namespace lightpeft
