#include "lightpeft/peft/peft_layer.h"

#include "lightpeft/core/error.h"

namespace lightpeft {

std::vector<std::pair<std::string, torch::Tensor>> PeftLayer::peft_weights() const {
  if (rank() == 0) return {};
  const auto [in_name, out_name] = factor_names();
  return {{std::string(in_name) + ".weight", rank_factor_in()},
          {std::string(out_name) + ".weight", rank_factor_out()}};
}

void PeftLayer::merge() { throw_error(name(), ": this PEFT layer is nonlinear and cannot be merged"); }
void PeftLayer::unmerge() { throw_error(name(), ": this PEFT layer is nonlinear and cannot be merged"); }

}  // namespace lightpeft
