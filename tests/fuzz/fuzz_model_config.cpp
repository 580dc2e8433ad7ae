// config.json text -> parse_model_config (+ the serialiser on whatever it accepted).
#include "fuzz_support.h"
#include "lightpeft/models/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    auto config = lightpeft::parse_model_config(lightpeft::fuzz::as_string(data, size), "config.json");
    // An accepted config must survive its own round trip.
    auto again = lightpeft::parse_model_config(lightpeft::model_config_to_json(config), "round-trip");
    if (again.hidden_size != config.hidden_size || again.attention_units_per_layer != config.attention_units_per_layer) std::abort();
  });
  return 0;
}
