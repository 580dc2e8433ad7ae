#pragma once
// GPT-2's byte-level pre-tokenization: the word-splitting regex (implemented by hand: std::regex has
// no Unicode classes) and the byte -> printable character map that lets BPE work on raw bytes.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lightpeft::byte_level {

// [begin, end) code point ranges of the matches of GPT-2's pattern, with Oniguruma's semantics:
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
std::vector<std::pair<size_t, size_t>> split_gpt2(const std::u32string& text);

// Each byte of `bytes` replaced by its GPT-2 stand-in character (UTF-8), e.g. ' ' -> "Ġ".
std::string bytes_to_unicode(std::string_view bytes);

}  // namespace lightpeft::byte_level
