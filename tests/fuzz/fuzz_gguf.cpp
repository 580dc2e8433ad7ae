// GGUF bytes -> GgufFile::parse (the code GgufFile::open runs on a mapped file), every tensor it can
// dequantize, and the HF conversion (config, tokenizer, weights) when the metadata asks for one.
#include "fuzz_support.h"
#include "lightpeft/io/gguf.h"
#include "lightpeft/io/gguf_hf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lightpeft::fuzz::scratch_dir();  // silences the parsers' warnings
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    const lightpeft::GgufFile f = lightpeft::GgufFile::parse(data, size, "fuzz.gguf");
    // Every accessor on every value: a bad conversion must be an Error, not UB.
    for (const auto& entry : f.metadata()) {
      const std::string& key = entry.first;  // (structured bindings cannot be captured in C++17)
      const lightpeft::GgufValue& value = entry.second;
      (void)value.describe();
      lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] { (void)value.as<int64_t>(key); });
      lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] { (void)value.as<double>(key); });
      lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] { (void)value.as<std::vector<std::string>>(key); });
    }
    // Touch every dequantized value: reading past the data shows up under ASan here.
    for (const auto& t : f.tensors()) {
      if (!lightpeft::ggml_can_dequantize(t.type)) continue;
      const at::Tensor x = f.load_tensor(t);
      if (x.numel() > 0) (void)x.view(-1).to(at::kDouble).nan_to_num().sum().item<double>();
    }
    lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] { (void)lightpeft::gguf_hf_config_json(f); });
    lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] { (void)lightpeft::gguf_hf_tokenizer_json(f); });
    lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] { (void)lightpeft::gguf_hf_tokenizer_config_json(f); });
    lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] { (void)lightpeft::gguf_hf_state_dict(f); });
  });
  return 0;
}
