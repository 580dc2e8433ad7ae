// PyTorch .bin (zip archive + pickle) -> load_torch_bin.
#include "fuzz_support.h"
#include "lightpeft/io/torch_bin.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = lightpeft::fuzz::write_scratch("pytorch_model.bin", data, size);
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    lightpeft::StateDict sd = lightpeft::load_torch_bin(path);
    for (const auto& [name, t] : sd) {
      if (t.numel() > 0) (void)t.contiguous().view(-1).to(at::kDouble).sum().item<double>();
    }
  });
  return 0;
}
