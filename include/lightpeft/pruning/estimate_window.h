#pragma once
// Which estimate-stage steps the PEFT importances average over: the official process_peft_imp keeps
// imp[total_steps // 2:], i.e. the second half of the steps (0-based step >= total_steps / 2).
#include <cstdint>

namespace lightpeft {

inline bool in_recorded_half(int64_t step, int64_t total_steps) {
  return step >= total_steps / 2;
}

}  // namespace lightpeft
