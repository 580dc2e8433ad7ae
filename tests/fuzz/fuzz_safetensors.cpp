// safetensors bytes -> parse_safetensors (the same code load_safetensors runs on a mapped file).
#include "fuzz_support.h"
#include "lightpeft/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    std::map<std::string, std::string> metadata;
    lightpeft::StateDict sd = lightpeft::parse_safetensors(data, size, "fuzz.safetensors", &metadata);
    // Touch every tensor's bytes: a view that runs past the buffer shows up under ASan here.
    for (const auto& [name, t] : sd) {
      if (t.numel() > 0) (void)t.contiguous().view(-1).to(at::kDouble).sum().item<double>();
    }
  });
  return 0;
}
