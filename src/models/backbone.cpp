#include "lightpeft/models/backbone.h"

#include <ATen/core/grad_mode.h>

namespace lightpeft {

bool BackboneImpl::checkpoint_layers() const {
  return gradient_checkpointing_ && is_training() && at::GradMode::is_enabled();
}

}  // namespace lightpeft
