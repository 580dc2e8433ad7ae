// adapter_config.json text -> peft_type_of, then the LoRA or bottleneck-adapter parser, and the
// serialiser on whatever was accepted.
#include "fuzz_support.h"
#include "lightpeft/peft/peft_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text = lightpeft::fuzz::as_string(data, size);
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    if (lightpeft::peft_type_of(text, "adapter_config.json") == lightpeft::PeftType::lora) {
      auto c = lightpeft::parse_lora_config(text, "adapter_config.json");
      (void)lightpeft::parse_lora_config(lightpeft::lora_config_to_json(c), "round-trip");
    } else {
      auto c = lightpeft::parse_adapter_config(text, "adapter_config.json");
      (void)lightpeft::parse_adapter_config(lightpeft::adapter_config_to_json(c), "round-trip");
    }
  });
  return 0;
}
