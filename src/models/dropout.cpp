#include "lightpeft/models/dropout.h"

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/dropout.h"

namespace lightpeft {

DropoutImpl::DropoutImpl(double p) : options(p) {
  LP_CHECK(p >= 0.0 && p <= 1.0, "Dropout: probability must be in [0, 1], got ", p);
}

torch::Tensor DropoutImpl::forward(const torch::Tensor& x) { return kernels::dropout(x, options.p(), is_training()); }

void DropoutImpl::pretty_print(std::ostream& stream) const { stream << "Dropout(p=" << options.p() << ")"; }

}  // namespace lightpeft
