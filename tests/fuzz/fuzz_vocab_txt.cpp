// vocab.txt -> a WordPiece tokenizer, which then encodes a few awkward strings.
#include "fuzz_support.h"
#include "lightpeft/tokenizers/wordpiece.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto path = lightpeft::fuzz::write_scratch("vocab.txt", data, size);
  lightpeft::fuzz::refuse_only_with_lightpeft_errors([&] {
    auto tok = lightpeft::WordPieceTokenizer::from_vocab_txt(path);
    lightpeft::EncodeOptions options;
    options.max_length = 16;
    (void)tok->encode("Hello, w\xC3\xB6rld! [CLS] unaffable \xE6\x9D\xB1\xE4\xBA\xAC", "[SEP] ##a", options);
    (void)tok->encode("", nullptr, options);
  });
  return 0;
}
