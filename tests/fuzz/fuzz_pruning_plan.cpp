// pruning_plan.json text -> parse_pruning_plan (+ the summary and serialiser on what it accepted).
#include "fuzz_support.h"
#include "lightpeft/pruning/pruning_plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    auto plan = lightpeft::parse_pruning_plan(lightpeft::fuzz::as_string(data, size), "pruning_plan.json");
    (void)plan.summary();
    (void)lightpeft::parse_pruning_plan(lightpeft::pruning_plan_to_json(plan), "round-trip");
  });
  return 0;
}
