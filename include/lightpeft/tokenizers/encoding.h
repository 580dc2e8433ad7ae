#pragma once
// What a tokenizer returns for one input (a text or a text pair) and how it should be shaped.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lightpeft {

// [begin, end) byte offsets of a token in the text it came from; (0, 0) for special tokens and
// padding. HF's return_offsets_mapping gives the same spans counted in characters.
using TokenOffsets = std::pair<int64_t, int64_t>;

struct Encoding {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> token_type_ids;
  std::vector<int64_t> attention_mask;  // 1 on tokens, 0 on padding
  // One per input id: tokens of the second text of a pair are relative to that text.
  std::vector<TokenOffsets> offsets;
};

// The tokens of one text before special tokens, truncation and padding.
struct EncodedText {
  std::vector<int64_t> ids;
  std::vector<TokenOffsets> offsets;
};

// How to shorten inputs longer than max_length (room for special tokens is reserved first). The
// strategies are HF tokenizers' ones, with its exact split of the budget between the two texts.
enum class Truncation { longest_first, only_first, only_second, none };
// longest: pad to the longest encoding of the batch; max_length: pad to EncodeOptions::max_length.
enum class Padding { none, longest, max_length };

struct EncodeOptions {
  int64_t max_length = 512;
  Truncation truncation = Truncation::longest_first;
  Padding padding = Padding::none;
  bool add_special_tokens = true;
};

// "longest_first" | "only_first" | "only_second" | "none" (also "do_not_truncate"); throws otherwise.
Truncation parse_truncation(const std::string& name);
// "none" | "longest" | "max_length" (also "do_not_pad"); throws otherwise.
Padding parse_padding(const std::string& name);

}  // namespace lightpeft
