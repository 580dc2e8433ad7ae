#include "lightpeft/train/loss_scaler.h"

#include <ATen/ops/isfinite.h>
#include <ATen/ops/stack.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

DynamicLossScaler::DynamicLossScaler(double init_scale, double growth_factor, double backoff_factor,
                                     int64_t growth_interval)
    : scale_(init_scale),
      growth_factor_(growth_factor),
      backoff_factor_(backoff_factor),
      growth_interval_(growth_interval) {
  LP_CHECK(init_scale > 0 && growth_factor > 1 && backoff_factor > 0 && backoff_factor < 1 &&
               growth_interval > 0,
           "DynamicLossScaler: bad settings (scale ", init_scale, ", growth ", growth_factor,
           ", backoff ", backoff_factor, ", interval ", growth_interval, ")");
}

at::Tensor DynamicLossScaler::scale(const at::Tensor& loss) const { return loss.mul(scale_); }

bool DynamicLossScaler::unscale(const std::vector<at::Tensor>& params) const {
  std::vector<at::Tensor> all_finite;
  for (const auto& p : params) {
    at::Tensor g = p.grad();
    if (!g.defined()) continue;
    g.div_(scale_);
    all_finite.push_back(at::isfinite(g).all());
  }
  if (all_finite.empty()) return true;
  return at::stack(all_finite).all().item<bool>();
}

void DynamicLossScaler::update(bool step_was_finite) {
  if (!step_was_finite) {
    scale_ *= backoff_factor_;
    clean_steps_ = 0;
    return;
  }
  if (++clean_steps_ >= growth_interval_) {
    scale_ *= growth_factor_;
    clean_steps_ = 0;
  }
}

}  // namespace lightpeft
