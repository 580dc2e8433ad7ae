#pragma once
// Finding the LinearHost slot that holds the linear layer at a module path (private to pruning).
#include <string>

#include <torch/nn/module.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/linear.h"

namespace lightpeft::pruning_detail {

struct LinearSlot {
  LinearHost* host = nullptr;
  std::string name;  // the slot's name inside the host ("query", "dense")
};

// "a.b.query" -> the LinearHost module "a.b" and slot "query"; throws when there is none.
inline LinearSlot find_linear_slot(torch::nn::Module& model, const std::string& path) {
  const auto dot = path.rfind('.');
  LP_CHECK(dot != std::string::npos, "no linear layer at '", path, "'");
  const std::string host_path = path.substr(0, dot);
  LinearSlot slot{nullptr, path.substr(dot + 1)};
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    if (item.key() != host_path) continue;
    slot.host = dynamic_cast<LinearHost*>(item.value().get());
    break;
  }
  LP_CHECK(slot.host != nullptr, "no linear layer at '", path, "' ('", host_path,
           "' is not a module with linear slots)");
  const auto names = slot.host->linear_names();
  LP_CHECK(std::find(names.begin(), names.end(), slot.name) != names.end(), "no linear layer at '",
           path, "'");
  return slot;
}

}  // namespace lightpeft::pruning_detail
