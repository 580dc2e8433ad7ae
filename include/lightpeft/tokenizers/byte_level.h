#pragma once
// GPT-2's byte-level pre-tokenization: the word-splitting regex (split_regex.h) and the byte ->
// printable character map that lets BPE work on raw bytes, and its inverse for decoding.
#include <cstddef>
#include <optional>
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
// The stand-in character (UTF-8) of one byte.
std::string_view byte_to_unicode(unsigned char byte);
// The byte a stand-in character stands for, or nullopt for any other character.
std::optional<unsigned char> unicode_to_byte(char32_t cp);

}  // namespace lightpeft::byte_level
