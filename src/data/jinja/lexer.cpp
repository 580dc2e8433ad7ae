#include "lexer.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

#include "lightpeft/core/error.h"
#include "lightpeft/data/text_file.h"
#include "py_text.h"

namespace lightpeft::jinja {

std::string located(const std::string& origin, Pos pos, const std::string& message) {
  return detail::concat(origin, ":", pos.line, ":", pos.col, ": ", message);
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

// Newlines to "\n" and one trailing newline dropped, as jinja2's tokeniter does first.
std::string normalize(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out.push_back('\n');
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out.push_back(source[i]);
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

class Lexer {
 public:
  Lexer(std::string source, const std::string& origin) : src_(std::move(source)), origin_(origin) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < src_.size(); ++i) {
      if (src_[i] == '\n') line_starts_.push_back(i + 1);
    }
  }

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      const size_t tag = find_tag(pos);
      if (tag == std::string::npos) {
        emit_data(src_.substr(pos), pos);
        break;
      }
      const char kind = src_[tag + 1];
      char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (sign != '-' && sign != '+') sign = '\0';
      size_t raw_end = 0;
      const bool raw = kind == '%' && match_raw_begin(tag, raw_end);
      std::string text = src_.substr(pos, tag - pos);
      strip_before_tag(text, sign, kind != '{', line_starting);
      emit_data(std::move(text), pos);
      const size_t after_open = tag + 2 + (sign ? 1 : 0);
      if (raw) {
        pos = lex_raw(tag, raw_end, line_starting);
      } else if (kind == '#') {
        pos = lex_comment(tag, after_open, line_starting);
      } else {
        pos = lex_tag(tag, after_open, kind == '{', line_starting);
      }
    }
    Token eof;
    eof.type = Tok::eof;
    eof.pos = pos_of(src_.size());
    tokens_.push_back(eof);
    return std::move(tokens_);
  }

 private:
  Pos pos_of(size_t offset) const {
    const auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line = static_cast<size_t>(it - line_starts_.begin());
    const size_t start = line_starts_[line - 1];
    Pos p;
    p.line = static_cast<int>(line);
    p.col = static_cast<int>(code_point_count(std::string_view(src_).substr(start, offset - start))) + 1;
    return p;
  }

  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    throw Error(located(origin_, pos_of(offset), message));
  }

  // The code point at `pos` (the source is valid UTF-8) and its byte length.
  char32_t cp_at(size_t pos, size_t& len) const {
    const auto c = static_cast<unsigned char>(src_[pos]);
    if (c < 0x80) {
      len = 1;
      return c;
    }
    len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
    return to_u32(std::string_view(src_).substr(pos, len))[0];
  }

  size_t skip_space(size_t pos) const {
    while (pos < src_.size()) {
      size_t len = 0;
      if (!py_isspace(cp_at(pos, len))) break;
      pos += len;
    }
    return pos;
  }

  bool starts(size_t pos, std::string_view s) const {
    return pos + s.size() <= src_.size() && src_.compare(pos, s.size(), s.data(), s.size()) == 0;
  }

  size_t find_tag(size_t pos) const {
    while (true) {
      pos = src_.find('{', pos);
      if (pos == std::string::npos || pos + 1 >= src_.size()) return std::string::npos;
      const char k = src_[pos + 1];
      if (k == '{' || k == '%' || k == '#') return pos;
      ++pos;
    }
  }

  // "{%[-+]?\s*raw\s*(-%}\s*|%})" at `tag`; sets `end` past it.
  bool match_raw_begin(size_t tag, size_t& end) const {
    size_t p = tag + 2;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) ++p;
    p = skip_space(p);
    if (!starts(p, "raw")) return false;
    p = skip_space(p + 3);
    if (starts(p, "-%}")) {
      end = skip_space(p + 3);
      return true;
    }
    if (starts(p, "%}")) {
      end = p + 2;
      return true;
    }
    return false;
  }

  // Whitespace control on the text before a tag: "-" strips all trailing whitespace; otherwise
  // (lstrip_blocks) a block or comment tag preceded on its line only by whitespace takes it.
  void strip_before_tag(std::string& text, char sign, bool lstrip_kind, bool line_starting) const {
    if (sign == '-') {
      text = py_strip(text, std::nullopt, false, true);
      return;
    }
    if (sign == '+' || !lstrip_kind) return;
    const size_t nl = text.rfind('\n');
    const size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    if (l_pos == 0 && !line_starting) return;
    const std::string_view tail = std::string_view(text).substr(l_pos);
    if (!tail.empty() && all_space(to_u32(tail))) text.resize(l_pos);
  }

  void emit_data(std::string text, size_t offset) {
    if (text.empty()) return;
    Token t;
    t.type = Tok::data;
    t.text = std::move(text);
    t.pos = pos_of(offset);
    tokens_.push_back(std::move(t));
  }

  void emit(Tok type, size_t offset, std::string text = {}) {
    Token t;
    t.type = type;
    t.text = std::move(text);
    t.pos = pos_of(offset);
    tokens_.push_back(std::move(t));
  }

  // After "#}": "+#}" keeps what follows, "-#}" strips whitespace, "#}" drops one newline.
  size_t lex_comment(size_t tag, size_t pos, bool& line_starting) {
    const size_t close = src_.find("#}", pos);
    if (close == std::string::npos) fail(tag, "comment opened with '{#' is never closed with '#}'");
    size_t end;
    if (close > pos && src_[close - 1] == '+') {
      end = close + 2;
    } else if (close > pos && src_[close - 1] == '-') {
      end = skip_space(close + 2);
    } else {
      end = close + 2;
      if (end < src_.size() && src_[end] == '\n') ++end;  // trim_blocks
    }
    line_starting = src_[end - 1] == '\n';
    return end;
  }

  size_t lex_raw(size_t tag, size_t content_start, bool& line_starting) {
    line_starting = content_start > 0 && src_[content_start - 1] == '\n';
    size_t search = content_start;
    while (true) {
      const size_t open = src_.find("{%", search);
      if (open == std::string::npos) fail(tag, "'{% raw %}' is never closed with '{% endraw %}'");
      size_t p = open + 2;
      char sign = '\0';
      if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) sign = src_[p++];
      p = skip_space(p);
      if (!starts(p, "endraw")) {
        search = open + 2;
        continue;
      }
      p = skip_space(p + 6);
      size_t end;
      if (starts(p, "+%}")) {
        end = p + 3;
      } else if (starts(p, "-%}")) {
        end = skip_space(p + 3);
      } else if (starts(p, "%}")) {
        end = p + 2;
        if (end < src_.size() && src_[end] == '\n') ++end;
      } else {
        search = open + 2;
        continue;
      }
      std::string text = src_.substr(content_start, open - content_start);
      strip_before_tag(text, sign, true, line_starting);
      emit_data(std::move(text), content_start);
      line_starting = src_[end - 1] == '\n';
      return end;
    }
  }

  size_t lex_tag(size_t tag, size_t pos, bool variable, bool& line_starting) {
    emit(variable ? Tok::var_begin : Tok::block_begin, tag);
    std::vector<char> balance;
    while (true) {
      if (pos >= src_.size()) {
        fail(tag, variable ? "'{{' is never closed with '}}'" : "'{%' is never closed with '%}'");
      }
      if (balance.empty()) {
        size_t end = 0;
        if (variable) {
          if (starts(pos, "-}}")) end = skip_space(pos + 3);
          else if (starts(pos, "}}")) end = pos + 2;
        } else {
          if (starts(pos, "+%}")) {
            end = pos + 3;
          } else if (starts(pos, "-%}")) {
            end = skip_space(pos + 3);
          } else if (starts(pos, "%}")) {
            end = pos + 2;
            if (end < src_.size() && src_[end] == '\n') ++end;  // trim_blocks
          }
        }
        if (end) {
          emit(variable ? Tok::var_end : Tok::block_end, pos);
          line_starting = src_[end - 1] == '\n';
          return end;
        }
      }
      size_t len = 0;
      if (py_isspace(cp_at(pos, len))) {
        pos = skip_space(pos);
        continue;
      }
      const char c = src_[pos];
      if (is_digit(c)) {
        pos = lex_number(pos);
      } else if (is_name_start(c)) {
        size_t e = pos;
        while (e < src_.size() && is_name_char(src_[e])) ++e;
        emit(Tok::name, pos, src_.substr(pos, e - pos));
        pos = e;
      } else if (c == '\'' || c == '"') {
        pos = lex_string(pos);
      } else {
        pos = lex_operator(pos, balance);
      }
    }
  }

  // (\d+_)*\d+ at pos: the end, or npos.
  size_t digits(size_t pos, bool (*ok)(char) = nullptr) const {
    auto good = [&](size_t p) { return p < src_.size() && (ok ? ok(src_[p]) : is_digit(src_[p])); };
    if (!good(pos)) return std::string::npos;
    while (good(pos)) ++pos;
    while (pos + 1 < src_.size() && src_[pos] == '_' && good(pos + 1)) {
      ++pos;
      while (good(pos)) ++pos;
    }
    return pos;
  }

  size_t lex_number(size_t pos) {
    // jinja2 tries a float first, unless the number directly follows a '.' (as in `x.0.1`).
    if (pos == 0 || src_[pos - 1] != '.') {
      const size_t int_end = digits(pos);
      size_t end = std::string::npos;
      size_t p = int_end;
      if (p < src_.size() && src_[p] == '.') {
        const size_t frac = digits(p + 1);
        if (frac != std::string::npos) {
          end = frac;
          p = frac;
        }
      }
      if (p < src_.size() && (src_[p] == 'e' || src_[p] == 'E')) {
        size_t q = p + 1;
        if (q < src_.size() && (src_[q] == '+' || src_[q] == '-')) ++q;
        const size_t exp = digits(q);
        if (exp != std::string::npos) end = exp;
      }
      if (end != std::string::npos) {
        std::string text;
        for (size_t i = pos; i < end; ++i) {
          if (src_[i] != '_') text.push_back(src_[i]);
        }
        double v = 0;
        const auto res = std::from_chars(text.data(), text.data() + text.size(), v);
        if (res.ec == std::errc::result_out_of_range) {
          // Python reads 1e999 as inf and 1e-999 as 0.0.
          v = text.find_first_of("eE") != std::string::npos &&
                      text[text.find_first_of("eE") + 1] == '-'
                  ? 0.0
                  : std::numeric_limits<double>::infinity();
        }
        Token t;
        t.type = Tok::floating;
        t.fval = v;
        t.text = src_.substr(pos, end - pos);
        t.pos = pos_of(pos);
        tokens_.push_back(std::move(t));
        return end;
      }
    }
    int base = 10;
    size_t start = pos, end = pos;
    if (src_[pos] == '0' && pos + 1 < src_.size()) {
      const char k = static_cast<char>(src_[pos + 1] | 0x20);
      auto bin = [](char ch) { return ch == '0' || ch == '1'; };
      auto oct = [](char ch) { return ch >= '0' && ch <= '7'; };
      auto hex = [](char ch) {
        return is_digit(ch) || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f');
      };
      bool (*ok)(char) = k == 'b' ? +bin : k == 'o' ? +oct : k == 'x' ? +hex : nullptr;
      if (ok) {
        // 0b(_?[01])+ : an underscore may also follow the prefix.
        size_t p = pos + 2;
        if (p < src_.size() && src_[p] == '_') ++p;
        const size_t e = digits(p, ok);
        if (e != std::string::npos) {
          base = k == 'b' ? 2 : k == 'o' ? 8 : 16;
          start = pos + 2;
          end = e;
        }
      }
    }
    if (base == 10) {
      if (src_[pos] == '0') {
        // 0(_?0)*
        end = pos + 1;
        while (true) {
          if (end < src_.size() && src_[end] == '0') {
            ++end;
          } else if (end + 1 < src_.size() && src_[end] == '_' && src_[end + 1] == '0') {
            end += 2;
          } else {
            break;
          }
        }
      } else {
        end = digits(pos);
      }
    }
    uint64_t value = 0;
    for (size_t i = start; i < end; ++i) {
      const char ch = src_[i];
      if (ch == '_') continue;
      const int d = is_digit(ch) ? ch - '0' : (ch | 0x20) - 'a' + 10;
      if (value > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - d) / base) {
        fail(pos, "integer literal " + src_.substr(pos, end - pos) + " is beyond the 64-bit range");
      }
      value = value * base + d;
    }
    Token t;
    t.type = Tok::integer;
    t.ival = static_cast<int64_t>(value);
    t.text = src_.substr(pos, end - pos);
    t.pos = pos_of(pos);
    tokens_.push_back(std::move(t));
    return end;
  }

  static int hex_value(char c) {
    if (is_digit(c)) return c - '0';
    const char l = static_cast<char>(c | 0x20);
    if (l >= 'a' && l <= 'f') return l - 'a' + 10;
    return -1;
  }

  // A string literal, unescaped as Python's "unicode-escape" codec does (jinja2's rule).
  size_t lex_string(size_t pos) {
    const char quote = src_[pos];
    size_t p = pos + 1;
    while (true) {
      if (p >= src_.size()) fail(pos, "string literal is never closed");
      if (src_[p] == '\\') {
        p += 2;
        continue;
      }
      if (src_[p] == quote) break;
      ++p;
    }
    const std::string_view body = std::string_view(src_).substr(pos + 1, p - pos - 1);
    std::string out;
    for (size_t i = 0; i < body.size(); ++i) {
      const char c = body[i];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      const size_t at = pos + 1 + i;
      const char d = body[++i];
      if (static_cast<unsigned char>(d) >= 0x80) {
        // Python escapes the non-ASCII character first ("\xe9"), so the backslash escapes
        // that escape's backslash: '\é' reads as a backslash and "xe9".
        size_t len = 0;
        const char32_t cp = cp_at(pos + 1 + i, len);
        char buf[16];
        if (cp <= 0xFF) std::snprintf(buf, sizeof(buf), "\\x%02x", static_cast<unsigned>(cp));
        else if (cp <= 0xFFFF) std::snprintf(buf, sizeof(buf), "\\u%04x", static_cast<unsigned>(cp));
        else std::snprintf(buf, sizeof(buf), "\\U%08x", static_cast<unsigned>(cp));
        out += buf;
        i += len - 1;
        continue;
      }
      switch (d) {
        case '\n': break;
        case '\\': out.push_back('\\'); break;
        case '\'': out.push_back('\''); break;
        case '"': out.push_back('"'); break;
        case 'a': out.push_back('\a'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'v': out.push_back('\v'); break;
        case 'x':
        case 'u':
        case 'U': {
          const size_t n = d == 'x' ? 2 : d == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (size_t k = 1; k <= n; ++k) {
            const int h = i + k < body.size() ? hex_value(body[i + k]) : -1;
            if (h < 0) {
              fail(at, std::string("truncated \\") + d + std::string(n, 'X') + " escape in a string literal");
            }
            cp = cp * 16 + static_cast<uint32_t>(h);
          }
          if (cp > 0x10FFFF) fail(at, "escape in a string literal is beyond U+10FFFF");
          if (cp >= 0xD800 && cp <= 0xDFFF) fail(at, "escape in a string literal is a UTF-16 surrogate");
          append_utf8(out, cp);
          i += n;
          break;
        }
        case 'N': fail(at, "\\N{...} escapes in string literals are not supported");
        default:
          if (d >= '0' && d <= '7') {
            uint32_t cp = static_cast<uint32_t>(d - '0');
            for (int k = 0; k < 2 && i + 1 < body.size() && body[i + 1] >= '0' && body[i + 1] <= '7'; ++k) {
              cp = cp * 8 + static_cast<uint32_t>(body[++i] - '0');
            }
            append_utf8(out, cp);
          } else {
            out.push_back('\\');  // an unknown escape stays as written
            out.push_back(d);
          }
      }
    }
    Token t;
    t.type = Tok::string;
    t.text = std::move(out);
    t.pos = pos_of(pos);
    tokens_.push_back(std::move(t));
    return p + 1;
  }

  size_t lex_operator(size_t pos, std::vector<char>& balance) {
    static const char* kOps[] = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~", "[", "]",
                                 "(", ")", "{", "}", ">", "<", "=", ".", ":", "|", ",", ";"};
    for (const char* op : kOps) {
      const std::string_view s(op);
      if (!starts(pos, s)) continue;
      const char c = s[0];
      if (s.size() == 1 && (c == '(' || c == '[' || c == '{')) {
        balance.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
      } else if (s.size() == 1 && (c == ')' || c == ']' || c == '}')) {
        if (balance.empty()) fail(pos, std::string("unexpected '") + c + "'");
        if (balance.back() != c) {
          fail(pos, std::string("unexpected '") + c + "', expected '" + balance.back() + "'");
        }
        balance.pop_back();
      }
      emit(Tok::op, pos, std::string(s));
      return pos + s.size();
    }
    size_t len = 0;
    cp_at(pos, len);
    fail(pos, "unexpected character '" + src_.substr(pos, len) + "' in a tag");
  }

  std::string src_;
  const std::string& origin_;
  std::vector<size_t> line_starts_;
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source, const std::string& origin) {
  if (!is_valid_utf8(source)) {
    // Name the line and column of the first bad byte: the longest valid prefix ends at a code point
    // boundary, found by growing it one code point at a time.
    size_t ok = 0;
    while (ok < source.size()) {
      const auto b = static_cast<unsigned char>(source[ok]);
      const size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
      if (ok + len > source.size() || !is_valid_utf8(source.substr(ok, len))) break;
      ok += len;
    }
    size_t line = 1, col = 1;
    for (size_t i = 0; i < ok; ++i) {
      if (source[i] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(source[i]) & 0xC0) != 0x80) {
        ++col;
      }
    }
    throw Error(detail::concat(origin, ":", line, ":", col, ": the template is not valid UTF-8"));
  }
  return Lexer(normalize(source), origin).run();
}

}  // namespace lightpeft::jinja
