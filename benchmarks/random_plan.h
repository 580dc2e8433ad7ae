#pragma once
// A pruning plan at Light-PEFT's default ratios (spec: attention units 1/3 per layer, neurons 1/3
// globally, PEFT modules 3/4, ranks 1/2) decided on random scores, for benchmarks: a pruned model's
// step time depends on the shapes it keeps, not on which units go.
#include <ATen/ops/rand.h>

#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/pruning_plan.h"

namespace lightpeft::bench {

inline PruningPlan random_plan(const PeftModel& peft) {
  PruningScores s;
  for (int64_t l = 0; l < peft.model->num_layers(); ++l) {
    s.foundation.heads.push_back(at::rand({peft.model->layer(l).attention_units().count}));
    s.foundation.neurons.push_back(at::rand({peft.model->layer(l).mlp_neurons().count}));
  }
  for (const auto& [path, layer] : peft.layers) {
    s.peft.modules[path] = at::rand({1}).item<float>();
    s.peft.ranks[path] = at::rand({layer->rank()});
  }
  return make_plan(s, PruningOptions{});
}

}  // namespace lightpeft::bench
