#pragma once
// A state dict: parameter and buffer tensors by their HF key, ordered by key.
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace lightpeft {

using StateDict = std::map<std::string, at::Tensor>;

}  // namespace lightpeft
