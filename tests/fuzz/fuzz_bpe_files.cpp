// vocab.json + merges.txt (the input is split at its first NUL byte) -> a byte-level BPE
// tokenizer, which then encodes a few awkward strings.
#include <algorithm>

#include "fuzz_support.h"
#include "lightpeft/tokenizers/byte_bpe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const uint8_t* split = std::find(data, data + size, uint8_t{0});
  auto vocab = lightpeft::fuzz::write_scratch("vocab.json", data, static_cast<size_t>(split - data));
  const uint8_t* rest = split == data + size ? split : split + 1;
  auto merges = lightpeft::fuzz::write_scratch("merges.txt", rest, static_cast<size_t>(data + size - rest));
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    auto tok = lightpeft::ByteBpeTokenizer::from_files(vocab, merges, /*add_prefix_space=*/size % 2 == 0);
    lightpeft::EncodeOptions options;
    options.max_length = 16;
    (void)tok->encode("Hello, w\xC3\xB6rld! <s> lower newest \xE6\x9D\xB1\xE4\xBA\xAC", " </s>x", options);
    (void)tok->encode("", nullptr, options);
  });
  return 0;
}
