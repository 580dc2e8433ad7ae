#include "lightpeft/models/dropout.h"

#include "lightpeft/kernels/dropout.h"

namespace lightpeft {

DropoutImpl::DropoutImpl(double p) : options(p) { kernels::check_dropout_probability(p); }

torch::Tensor DropoutImpl::forward(const torch::Tensor& x) { return kernels::dropout(x, options.p(), is_training()); }

void DropoutImpl::pretty_print(std::ostream& stream) const { stream << "Dropout(p=" << options.p() << ")"; }

}  // namespace lightpeft
