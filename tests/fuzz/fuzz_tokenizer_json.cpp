// tokenizer.json -> load_hf_tokenizer_json, which then encodes a few awkward strings (added and chat
// tokens, digits, whitespace runs, line breaks, emoji) and decodes what it got and a few raw ids.
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
    const auto e = tok->encode("<|im_start|>user\n  It's 2024!\r\n\n\t\xF0\x9F\x98\x80 \xE2\x96\x81x <s>",
                               nullptr, options);
    (void)tok->decode(e.input_ids, false);
    (void)tok->decode(e.input_ids, true);
    try {
      (void)tok->decode({0, 1, 2, 3, 250}, false);
    } catch (const lightpeft::Error&) {
    }
    for (int64_t id = -1; id < 4; ++id) {
      try {
        (void)tok->id_to_token(id);
      } catch (const lightpeft::Error&) {
      }
    }
  });
  return 0;
}
