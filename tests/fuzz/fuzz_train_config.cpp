// YAML training config text -> parse_train_config (+ the serialiser on whatever it accepted).
#include "fuzz_support.h"
#include "lightpeft/train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    auto config = lightpeft::parse_train_config(lightpeft::fuzz::as_string(data, size), "fuzz.yaml");
    (void)lightpeft::train_config_to_yaml(config);
  });
  return 0;
}
