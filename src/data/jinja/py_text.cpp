#include "py_text.h"

#include <utf8proc.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <cmath>
#include <cstdio>

#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft::jinja {

namespace {

utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

bool is_cased(char32_t cp) {
  const auto c = category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT;
}

// SpecialCasing.txt's unconditional upper-case mappings to several code points (the Latin,
// Armenian and ligature ones; the Greek iota-subscript forms are left to the simple mapping).
bool special_upper(char32_t cp, std::u32string& out) {
  switch (cp) {
    case 0x00DF: out += U"SS"; return true;                  // ß
    case 0x0149: out += U"\u02BCN"; return true;             // ŉ
    case 0x01F0: out += U"J\u030C"; return true;             // ǰ
    case 0x0390: out += U"\u0399\u0308\u0301"; return true;  // ΐ
    case 0x03B0: out += U"\u03A5\u0308\u0301"; return true;  // ΰ
    case 0x0587: out += U"\u0535\u0552"; return true;        // և
    case 0x1E96: out += U"H\u0331"; return true;
    case 0x1E97: out += U"T\u0308"; return true;
    case 0x1E98: out += U"W\u030A"; return true;
    case 0x1E99: out += U"Y\u030A"; return true;
    case 0x1E9A: out += U"A\u02BE"; return true;
    case 0xFB00: out += U"FF"; return true;
    case 0xFB01: out += U"FI"; return true;
    case 0xFB02: out += U"FL"; return true;
    case 0xFB03: out += U"FFI"; return true;
    case 0xFB04: out += U"FFL"; return true;
    case 0xFB05: out += U"ST"; return true;
    case 0xFB06: out += U"ST"; return true;
    case 0xFB13: out += U"\u0544\u0546"; return true;
    case 0xFB14: out += U"\u0544\u0535"; return true;
    case 0xFB15: out += U"\u0544\u053B"; return true;
    case 0xFB16: out += U"\u054E\u0546"; return true;
    case 0xFB17: out += U"\u0544\u053D"; return true;
    default: return false;
  }
}

void append_upper(std::u32string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(cp >= 'a' && cp <= 'z' ? cp - 32 : cp);
    return;
  }
  if (special_upper(cp, out)) return;
  out.push_back(static_cast<char32_t>(utf8proc_toupper(static_cast<utf8proc_int32_t>(cp))));
}

void append_lower(std::u32string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    return;
  }
  unicode::append_lowercase(out, cp);
}

void append_title(std::u32string& out, char32_t cp) {
  // Title case equals upper case for the one-to-many mappings above except ß (Ss) and the ligatures.
  switch (cp) {
    case 0x00DF: out += U"Ss"; return;
    case 0xFB00: out += U"Ff"; return;
    case 0xFB01: out += U"Fi"; return;
    case 0xFB02: out += U"Fl"; return;
    case 0xFB03: out += U"Ffi"; return;
    case 0xFB04: out += U"Ffl"; return;
    case 0xFB05:
    case 0xFB06: out += U"St"; return;
    default: break;
  }
  if (cp < 0x80) {
    append_upper(out, cp);
    return;
  }
  std::u32string tmp;
  if (special_upper(cp, tmp)) {
    out += tmp;
    return;
  }
  out.push_back(static_cast<char32_t>(utf8proc_totitle(static_cast<utf8proc_int32_t>(cp))));
}

bool in_set(char32_t cp, const std::u32string& set) { return set.find(cp) != std::u32string::npos; }

bool is_line_break(char32_t cp) {
  return cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C || cp == 0x1D ||
         cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

}  // namespace

std::u32string to_u32(std::string_view utf8) { return unicode::decode_utf8(utf8); }
std::string to_utf8(std::u32string_view text) { return unicode::encode_utf8(text); }
void append_utf8(std::string& out, char32_t cp) { unicode::append_utf8(out, cp); }

int64_t code_point_count(std::string_view utf8) {
  int64_t n = 0;
  for (char c : utf8) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool py_isspace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

bool all_space(std::u32string_view text) {
  for (char32_t c : text) {
    if (!py_isspace(c)) return false;
  }
  return true;
}

std::string py_strip(std::string_view s, const std::optional<std::string>& chars, bool left, bool right) {
  const std::u32string t = to_u32(s);
  const std::u32string set = chars ? to_u32(*chars) : std::u32string();
  auto strip_it = [&](char32_t c) { return chars ? in_set(c, set) : py_isspace(c); };
  size_t b = 0, e = t.size();
  if (left) {
    while (b < e && strip_it(t[b])) ++b;
  }
  if (right) {
    while (e > b && strip_it(t[e - 1])) --e;
  }
  return to_utf8(std::u32string_view(t).substr(b, e - b));
}

size_t find_text(std::string_view haystack, std::string_view needle, size_t from) {
  if (from > haystack.size()) return std::string_view::npos;
  if (needle.size() <= 8) return haystack.find(needle, from);
  const auto it = std::search(haystack.begin() + static_cast<std::ptrdiff_t>(from), haystack.end(),
                              std::boyer_moore_searcher(needle.begin(), needle.end()));
  return it == haystack.end() ? std::string_view::npos : static_cast<size_t>(it - haystack.begin());
}

int64_t count_text(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return code_point_count(haystack) + 1;
  int64_t n = 0;
  for (size_t at = find_text(haystack, needle); at != std::string_view::npos;
       at = find_text(haystack, needle, at + needle.size())) {
    ++n;
  }
  return n;
}

std::vector<std::string> py_split(std::string_view s, const std::optional<std::string>& sep,
                                  int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep) {
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t at = find_text(s, *sep, start);
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(start, at - start));
      start = at + sep->size();
    }
    out.emplace_back(s.substr(start));
    return out;
  }
  const std::u32string t = to_u32(s);
  size_t i = 0;
  const size_t n = t.size();
  while (true) {
    while (i < n && py_isspace(t[i])) ++i;
    if (i == n) break;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      out.push_back(to_utf8(std::u32string_view(t).substr(i)));  // the rest, trailing space kept
      break;
    }
    size_t j = i;
    while (j < n && !py_isspace(t[j])) ++j;
    out.push_back(to_utf8(std::u32string_view(t).substr(i, j - i)));
    i = j;
  }
  return out;
}

std::vector<std::string> py_rsplit(std::string_view s, const std::optional<std::string>& sep,
                                   int64_t maxsplit) {
  std::vector<std::string> out;  // built back to front
  if (sep) {
    // Right to left, non-overlapping: a forward search in the reversed bytes.
    const std::string rs(s.rbegin(), s.rend());
    const std::string rsep(sep->rbegin(), sep->rend());
    size_t end = s.size();  // of the unsplit prefix of s
    size_t from = 0;        // in rs
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t j = find_text(rs, rsep, from);
      if (j == std::string::npos) break;
      const size_t at = s.size() - j - sep->size();
      out.emplace_back(s.substr(at + sep->size(), end - at - sep->size()));
      end = at;
      from = j + sep->size();
    }
    out.emplace_back(s.substr(0, end));
  } else {
    const std::u32string t = to_u32(s);
    size_t j = t.size();
    while (true) {
      while (j > 0 && py_isspace(t[j - 1])) --j;
      if (j == 0) break;
      if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
        out.push_back(to_utf8(std::u32string_view(t).substr(0, j)));
        break;
      }
      size_t i = j;
      while (i > 0 && !py_isspace(t[i - 1])) --i;
      out.push_back(to_utf8(std::u32string_view(t).substr(i, j - i)));
      j = i;
    }
  }
  return std::vector<std::string>(out.rbegin(), out.rend());
}

std::vector<std::string> py_splitlines(std::string_view s) {
  const std::u32string t = to_u32(s);
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < t.size(); ++i) {
    if (!is_line_break(t[i])) continue;
    out.push_back(to_utf8(std::u32string_view(t).substr(start, i - start)));
    if (t[i] == '\r' && i + 1 < t.size() && t[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < t.size()) out.push_back(to_utf8(std::u32string_view(t).substr(start)));
  return out;
}

std::string py_replace(std::string_view s, std::string_view old, std::string_view repl, int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `repl` before every code point and at the end (up to count times).
    const std::u32string t = to_u32(s);
    int64_t done = 0;
    for (char32_t c : t) {
      if (count < 0 || done < count) {
        out += repl;
        ++done;
      }
      append_utf8(out, c);
    }
    if (count < 0 || done < count) out += repl;
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = find_text(s, old, start);
    if (at == std::string_view::npos) break;
    out += s.substr(start, at - start);
    out += repl;
    start = at + old.size();
    ++done;
  }
  out += s.substr(start);
  return out;
}

std::string py_upper(std::string_view s) {
  std::u32string out;
  for (char32_t c : to_u32(s)) append_upper(out, c);
  return to_utf8(out);
}

std::string py_lower(std::string_view s) {
  std::u32string out;
  for (char32_t c : to_u32(s)) append_lower(out, c);
  return to_utf8(out);
}

std::string py_capitalize(std::string_view s) {
  const std::u32string t = to_u32(s);
  std::u32string out;
  for (size_t i = 0; i < t.size(); ++i) {
    if (i == 0) {
      append_title(out, t[i]);
    } else {
      append_lower(out, t[i]);
    }
  }
  return to_utf8(out);
}

std::string py_title(std::string_view s) {
  std::u32string out;
  bool previous_cased = false;
  for (char32_t c : to_u32(s)) {
    if (previous_cased) {
      append_lower(out, c);
    } else {
      append_title(out, c);
    }
    previous_cased = is_cased(c);
  }
  return to_utf8(out);
}

std::string jinja_title(std::string_view s) {
  auto separator = [](char32_t c) {
    return py_isspace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
  };
  std::u32string out;
  bool word_start = true;
  for (char32_t c : to_u32(s)) {
    if (separator(c)) {
      out.push_back(c);
      word_start = true;
    } else if (word_start) {
      append_upper(out, c);
      word_start = false;
    } else {
      append_lower(out, c);
    }
  }
  return to_utf8(out);
}

std::string py_float_repr(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  // sci: [-]d[.ddd]e(+|-)XX
  const size_t epos = sci.find('e');
  const int exp = std::stoi(sci.substr(epos + 1));
  if (exp < -4 || exp >= 16) return sci;  // Python's repr switches to exponent form here
  const bool negative = sci[0] == '-';
  std::string digits;
  for (size_t i = negative ? 1 : 0; i < epos; ++i) {
    if (sci[i] != '.') digits.push_back(sci[i]);
  }
  std::string out = negative ? "-" : "";
  const int point = exp + 1;  // digits before the decimal point
  if (point <= 0) {
    out += "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  } else if (static_cast<size_t>(point) >= digits.size()) {
    out += digits + std::string(static_cast<size_t>(point) - digits.size(), '0') + ".0";
  } else {
    out += digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  }
  return out;
}

std::string py_str_repr(std::string_view s) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  std::string out(1, quote);
  char buf[16];
  for (char32_t c : to_u32(s)) {
    if (c == static_cast<char32_t>(quote) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7F) {
      std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(c));
      out += buf;
    } else if (c < 0x7F) {
      out.push_back(static_cast<char>(c));
    } else {
      const auto cat = category(c);
      const bool printable = !(cat == UTF8PROC_CATEGORY_CC || cat == UTF8PROC_CATEGORY_CF ||
                               cat == UTF8PROC_CATEGORY_CS || cat == UTF8PROC_CATEGORY_CO ||
                               cat == UTF8PROC_CATEGORY_CN || cat == UTF8PROC_CATEGORY_ZL ||
                               cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_ZS);
      if (printable) {
        append_utf8(out, c);
      } else if (c <= 0xFF) {
        std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(c));
        out += buf;
      } else if (c <= 0xFFFF) {
        std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(c));
        out += buf;
      } else {
        std::snprintf(buf, sizeof(buf), "\\U%08x", static_cast<unsigned>(c));
        out += buf;
      }
    }
  }
  out.push_back(quote);
  return out;
}

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  char buf[8];
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20) {
          std::snprintf(buf, sizeof(buf), "\\u%04x", u);
          out += buf;
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace lightpeft::jinja
