#include "lightpeft/tokenizers/byte_level.h"

#include <array>

#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft::byte_level {
namespace {

bool is_space(char32_t cp) { return unicode::is_whitespace(cp); }
bool is_letter(char32_t cp) { return unicode::is_letter(cp); }
bool is_number(char32_t cp) { return unicode::is_number(cp); }
bool is_other(char32_t cp) { return !is_space(cp) && !is_letter(cp) && !is_number(cp); }

// Length of GPT-2's contractions 's 't 're 've 'm 'll 'd at i (case-sensitive), or 0.
size_t contraction(const std::u32string& s, size_t i) {
  if (s[i] != U'\'' || i + 1 >= s.size()) return 0;
  const char32_t a = s[i + 1];
  if (a == U's' || a == U't' || a == U'm' || a == U'd') return 2;
  if (i + 2 >= s.size()) return 0;
  const char32_t b = s[i + 2];
  if ((a == U'r' && b == U'e') || (a == U'v' && b == U'e') || (a == U'l' && b == U'l')) return 3;
  return 0;
}

// Length of ` ?X+` at i for the class X, or 0.
template <typename Class>
size_t optional_space_then_run(const std::u32string& s, size_t i, Class in_class) {
  size_t j = i;
  if (s[j] == U' ' && j + 1 < s.size() && in_class(s[j + 1])) ++j;
  if (!in_class(s[j])) return 0;
  while (j < s.size() && in_class(s[j])) ++j;
  return j - i;
}

// `\s+(?!\S)|\s+` at a whitespace character: a run followed by a non-space leaves its last space to
// start the next word (" word"), unless the run is that single character.
size_t whitespace_run(const std::u32string& s, size_t i) {
  size_t end = i;
  while (end < s.size() && is_space(s[end])) ++end;
  if (end == s.size() || end - i == 1) return end - i;
  return end - i - 1;
}

size_t match_at(const std::u32string& s, size_t i) {
  if (size_t n = contraction(s, i)) return n;
  if (size_t n = optional_space_then_run(s, i, is_letter)) return n;
  if (size_t n = optional_space_then_run(s, i, is_number)) return n;
  if (size_t n = optional_space_then_run(s, i, is_other)) return n;
  return whitespace_run(s, i);  // every other character is whitespace
}

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards.
std::array<std::string, 256> make_byte_map() {
  std::array<std::string, 256> map;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    unicode::append_utf8(map[static_cast<size_t>(b)], printable ? static_cast<char32_t>(b) : next++);
  }
  return map;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> split_gpt2(const std::u32string& text) {
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = match_at(text, i);
    ranges.emplace_back(i, i + n);
    i += n;
  }
  return ranges;
}

std::string bytes_to_unicode(std::string_view bytes) {
  static const std::array<std::string, 256> map = make_byte_map();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += map[static_cast<unsigned char>(c)];
  return out;
}

}  // namespace lightpeft::byte_level
