#include "lightpeft/tokenizers/split_regex.h"

#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {
namespace {

constexpr std::string_view kGpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr std::string_view kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr std::string_view kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

bool is_space(char32_t cp) { return unicode::is_whitespace(cp); }  // Oniguruma's \s
bool is_letter(char32_t cp) {
  if (cp < 0x80) return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return unicode::is_letter(cp);
}
bool is_number(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return unicode::is_number(cp);
}
// [^\s\p{L}\p{N}]
bool is_other(char32_t cp) { return !is_space(cp) && !is_letter(cp) && !is_number(cp); }
bool is_newline(char32_t cp) { return cp == U'\r' || cp == U'\n'; }

// Simple case folding of the letters in (?i:'s|'t|'re|'ve|'m|'ll|'d): Oniguruma also matches the
// long s (U+017F) for s.
char32_t fold(char32_t cp) {
  if (cp >= U'A' && cp <= U'Z') return cp + 32;
  if (cp == 0x17F) return U's';
  return cp;
}

// Length of a contraction 's 't 're 've 'm 'll 'd at i, or 0; `fold_case` for (?i:...).
size_t contraction(const std::u32string& s, size_t i, bool fold_case) {
  if (s[i] != U'\'' || i + 1 >= s.size()) return 0;
  auto f = [&](char32_t cp) { return fold_case ? fold(cp) : cp; };
  const char32_t a = f(s[i + 1]);
  if (a == U's' || a == U't' || a == U'm' || a == U'd') return 2;
  if (i + 2 >= s.size()) return 0;
  const char32_t b = f(s[i + 2]);
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

// End of the whitespace run starting at i.
size_t space_run_end(const std::u32string& s, size_t i) {
  size_t end = i;
  while (end < s.size() && is_space(s[end])) ++end;
  return end;
}

// `\s+(?!\S)|\s+` at a whitespace character: a run followed by a non-space leaves its last space to
// start the next word (" word"), unless the run is that single character.
size_t trailing_space_run(const std::u32string& s, size_t i) {
  const size_t end = space_run_end(s, i);
  if (end == s.size() || end - i == 1) return end - i;
  return end - i - 1;
}

size_t gpt2_match(const std::u32string& s, size_t i) {
  if (size_t n = contraction(s, i, false)) return n;
  if (size_t n = optional_space_then_run(s, i, is_letter)) return n;
  if (size_t n = optional_space_then_run(s, i, is_number)) return n;
  if (size_t n = optional_space_then_run(s, i, is_other)) return n;
  return trailing_space_run(s, i);  // every other character is whitespace
}

size_t llama3_match(const std::u32string& s, size_t i, size_t max_digits) {
  const size_t n = s.size();
  // (?i:'s|'t|'re|'ve|'m|'ll|'d)
  if (size_t len = contraction(s, i, true)) return len;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  {
    size_t j = i;
    if (!is_newline(s[j]) && !is_letter(s[j]) && !is_number(s[j]) && j + 1 < n && is_letter(s[j + 1])) {
      ++j;
    }
    if (is_letter(s[j])) {
      while (j < n && is_letter(s[j])) ++j;
      return j - i;
    }
  }
  // \p{N}{1,max_digits}
  if (is_number(s[i])) {
    size_t j = i;
    while (j < n && j - i < max_digits && is_number(s[j])) ++j;
    return j - i;
  }
  // ' '?[^\s\p{L}\p{N}]+[\r\n]*
  if (size_t len = optional_space_then_run(s, i, is_other)) {
    size_t j = i + len;
    while (j < n && is_newline(s[j])) ++j;
    return j - i;
  }
  // \s*[\r\n]+ : the whitespace run up to and including its last line break.
  const size_t end = space_run_end(s, i);
  for (size_t k = end; k > i; --k) {
    if (is_newline(s[k - 1])) return k - i;
  }
  // \s+(?!\S)|\s+
  return trailing_space_run(s, i);
}

}  // namespace

SplitRegex SplitRegex::gpt2() { return SplitRegex(Kind::gpt2, 0); }

std::optional<SplitRegex> SplitRegex::recognise(std::string_view pattern) {
  if (pattern == kGpt2) return gpt2();
  if (pattern == kLlama3) return SplitRegex(Kind::llama3, 3);
  if (pattern == kQwen2) return SplitRegex(Kind::llama3, 1);
  return std::nullopt;
}

std::string SplitRegex::known_patterns() {
  return "GPT-2 " + std::string(kGpt2) + "\nLLaMA-3 " + std::string(kLlama3) + "\nQwen2 " +
         std::string(kQwen2);
}

size_t SplitRegex::match_at(const std::u32string& text, size_t i) const {
  return kind_ == Kind::gpt2 ? gpt2_match(text, i) : llama3_match(text, i, max_digits_);
}

std::vector<std::pair<size_t, size_t>> SplitRegex::find_all(const std::u32string& text) const {
  std::vector<std::pair<size_t, size_t>> ranges;
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = match_at(text, i);
    if (n == 0) {  // no match here: the search moves on one character (cannot happen today)
      ++i;
      continue;
    }
    ranges.emplace_back(i, i + n);
    i += n;
  }
  return ranges;
}

std::vector<std::pair<size_t, size_t>> SplitRegex::find_all(std::string_view text) const {
  std::u32string chars;
  std::vector<size_t> byte_of;  // byte offset of each code point, and the end
  chars.reserve(text.size());
  byte_of.reserve(text.size() + 1);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t length = 0;
    chars.push_back(unicode::code_point_at(text, pos, &length));
    byte_of.push_back(pos);
    pos += length;
  }
  byte_of.push_back(text.size());
  std::vector<std::pair<size_t, size_t>> ranges = find_all(chars);
  for (auto& [b, e] : ranges) {
    b = byte_of[b];
    e = byte_of[e];
  }
  return ranges;
}

}  // namespace lightpeft
