#pragma once
// Unicode helpers for the tokenizers: UTF-8 <-> code points and the character classes HF tokenizers
// uses (Rust's char::is_whitespace, Unicode general categories), backed by utf8proc.
#include <string>
#include <string_view>

namespace lightpeft::unicode {

// Code points of `text`; throws lightpeft::Error naming the byte offset on invalid UTF-8.
std::u32string decode_utf8(std::string_view text);
// Throws as decode_utf8 does, without building the code points.
void validate_utf8(std::string_view text);
// The code point starting at text[pos] and its byte length, for text already known to be valid
// UTF-8 (what the tokenizer pipeline hands around after validating its input once).
char32_t code_point_at(std::string_view text, size_t pos, size_t* length);
size_t utf8_length(char32_t cp);
void append_utf8(std::string& out, char32_t cp);
std::string encode_utf8(std::u32string_view text);

// The White_Space property: what Rust's char::is_whitespace and Oniguruma's \s accept.
bool is_whitespace(char32_t cp);
// General category L* / N* / P* / Mn.
bool is_letter(char32_t cp);
bool is_number(char32_t cp);
bool is_punctuation(char32_t cp);
bool is_nonspacing_mark(char32_t cp);
// General category M* (Mn, Mc, Me).
bool is_mark(char32_t cp);
// What Rust's regex crate (HF's added-token `single_word` check) calls a word character, \w:
// Alphabetic, M*, Nd, Pc and the joiners U+200C/U+200D.
bool is_word_char(char32_t cp);
// Cc, Cf, Co or Cs: the characters BERT's clean_text drops (unassigned Cn is kept, as HF does).
bool is_other(char32_t cp);

// Canonical decomposition (NFD) with canonical ordering.
std::u32string nfd(std::u32string_view text);
// Canonical decomposition (NFD) with canonical ordering, then canonical composition (NFC).
std::u32string nfc(std::u32string_view text);
// The full canonical decomposition of one code point (itself when it has none).
std::u32string decompose(char32_t cp);
// Canonical combining class (0 for starters).
int combining_class(char32_t cp);
// Full lower-case mapping as Rust's char::to_lowercase (U+0130 becomes two code points).
void append_lowercase(std::u32string& out, char32_t cp);

}  // namespace lightpeft::unicode
