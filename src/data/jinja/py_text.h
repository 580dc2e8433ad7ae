#pragma once
// Python's str semantics on UTF-8 text, for the chat-template interpreter: templates index, slice,
// strip, split and case-map strings as Python does, by code point, with Python's notion of
// whitespace. Every function takes and returns valid UTF-8 (the interpreter checks its inputs).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lightpeft::jinja {

std::u32string to_u32(std::string_view utf8);
std::string to_utf8(std::u32string_view text);
void append_utf8(std::string& out, char32_t cp);
// Number of code points (Python's len()).
int64_t code_point_count(std::string_view utf8);

// str.isspace(): the characters Python's str.split()/strip() treat as whitespace.
bool py_isspace(char32_t cp);
// Python's \s in the jinja lexer's regular expressions (the same set as str.isspace()).
bool all_space(std::u32string_view text);

// str.strip/lstrip/rstrip: `chars` nullopt strips whitespace, else any of its code points.
std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right);
// str.split(sep=None, maxsplit=-1) and str.rsplit; an empty `sep` is the caller's error to report.
std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep,
                                  int64_t maxsplit);
std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep,
                                   int64_t maxsplit);
// str.splitlines() (without keepends).
std::vector<std::string> py_splitlines(std::string_view s);
// The byte offset of `needle` in `haystack` at or after `from` (npos if absent); linear time even
// for adversarial inputs (Boyer-Moore for long needles).
size_t find_text(std::string_view haystack, std::string_view needle, size_t from = 0);
// Number of non-overlapping occurrences (str.count); an empty needle counts code points + 1.
int64_t count_text(std::string_view haystack, std::string_view needle);
// str.replace(old, new, count): count < 0 replaces all; an empty `old` inserts between code points.
std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count);

// Case mappings: Unicode simple mappings (utf8proc) plus the unconditional one-to-many upper-case
// mappings of SpecialCasing.txt that occur in running text (ß -> SS, ligatures); Python also
// applies the final-sigma rule and the Greek iota-subscript mappings, which these do not.
std::string py_upper(std::string_view s);
std::string py_lower(std::string_view s);
// str.capitalize(): first code point title-cased, the rest lower-cased.
std::string py_capitalize(std::string_view s);
// str.title(): upper-case after a non-cased character, lower-case after a cased one.
std::string py_title(std::string_view s);
// jinja's |title filter: words split at runs of whitespace, '-', '(', '{', '[' and '<'.
std::string jinja_title(std::string_view s);

// repr(float): the shortest text that reads back to the same double, as Python prints it.
std::string py_float_repr(double v);
// repr(str): quoted with ' (or " when the text has ' and no "), with Python's escapes.
std::string py_str_repr(std::string_view s);
// json.dumps(str, ensure_ascii=False): quoted with ", control characters escaped.
std::string json_quote(std::string_view s);

}  // namespace lightpeft::jinja
