// tokenizer.json -> load_hf_tokenizer_json, which then encodes a few awkward strings.
#include "fuzz_support.h"
#include "lightpeft/tokenizers/hf_tokenizer_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = lightpeft::fuzz::write_scratch("tokenizer.json", data, size);
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    auto tok = lightpeft::load_hf_tokenizer_json(path);
    lightpeft::EncodeOptions options;
    options.max_length = 16;
    (void)tok->encode("Hello, w\xC3\xB6rld! [CLS] <s> unaffable \xE6\x9D\xB1\xE4\xBA\xAC", "[SEP] ##a", options);
    (void)tok->encode("", nullptr, options);
    for (int64_t id = -1; id < 4; ++id) {
      try {
        (void)tok->id_to_token(id);
      } catch (const lightpeft::Error&) {
      }
    }
  });
  return 0;
}
