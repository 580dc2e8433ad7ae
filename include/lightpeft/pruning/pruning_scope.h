#pragma once
// Over which units a pruning ratio's quantile is taken: each layer's own, or all layers together.
// Apart from pruning_plan.h so that the training config can hold one without including torch.
#include <string>

#include "lightpeft/core/enum_names.h"

namespace lightpeft {

enum class PruningScope { layerwise, global };
LP_ENUM_NAMES(PruningScope, {PruningScope::layerwise, "layerwise"}, {PruningScope::global, "global"});
// to_string(PruningScope) is enum_names.h's; this throws "<origin>: expected ..." for another name.
PruningScope parse_pruning_scope(const std::string& name, const std::string& origin);

}  // namespace lightpeft
