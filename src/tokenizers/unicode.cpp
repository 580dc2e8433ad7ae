#include "lightpeft/tokenizers/unicode.h"

#include <utf8proc.h>

#include <cstdlib>
#include <vector>

#include "lightpeft/core/error.h"

namespace lightpeft::unicode {
namespace {

utf8proc_category_t category(char32_t cp) {
  return utf8proc_category(static_cast<utf8proc_int32_t>(cp));
}

[[noreturn]] void invalid_utf8(size_t offset) {
  throw_error("invalid UTF-8 at byte ", offset, " of the input text: expected a valid UTF-8 string");
}

// Calls emit(cp) for every code point; throws naming the byte offset of the first invalid one.
template <typename Emit>
void scan_utf8(std::string_view text, Emit&& emit) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      emit(static_cast<char32_t>(lead));
      ++i;
      continue;
    }
    size_t len = 0;
    char32_t cp = 0;
    char32_t min = 0;
    if ((lead & 0xE0) == 0xC0) {
      len = 2, cp = lead & 0x1F, min = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      len = 3, cp = lead & 0x0F, min = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      len = 4, cp = lead & 0x07, min = 0x10000;
    } else {
      invalid_utf8(i);
    }
    if (i + len > text.size()) invalid_utf8(i);
    for (size_t k = 1; k < len; ++k) {
      const auto cont = static_cast<unsigned char>(text[i + k]);
      if ((cont & 0xC0) != 0x80) invalid_utf8(i);
      cp = (cp << 6) | (cont & 0x3F);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) invalid_utf8(i);
    emit(cp);
    i += len;
  }
}

}  // namespace

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  out.reserve(text.size());
  scan_utf8(text, [&](char32_t cp) { out.push_back(cp); });
  return out;
}

void validate_utf8(std::string_view text) {
  scan_utf8(text, [](char32_t) {});
}

char32_t code_point_at(std::string_view text, size_t pos, size_t* length) {
  const auto b0 = static_cast<unsigned char>(text[pos]);
  auto cont = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(text[pos + k]) & 0x3F); };
  if (b0 < 0x80) {
    *length = 1;
    return b0;
  }
  if ((b0 & 0xE0) == 0xC0) {
    *length = 2;
    return (static_cast<char32_t>(b0 & 0x1F) << 6) | cont(1);
  }
  if ((b0 & 0xF0) == 0xE0) {
    *length = 3;
    return (static_cast<char32_t>(b0 & 0x0F) << 12) | (cont(1) << 6) | cont(2);
  }
  *length = 4;
  return (static_cast<char32_t>(b0 & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3);
}

size_t utf8_length(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

bool is_whitespace(char32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_letter(char32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

bool is_number(char32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO;
}

bool is_punctuation(char32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool is_nonspacing_mark(char32_t cp) { return category(cp) == UTF8PROC_CATEGORY_MN; }

bool is_mark(char32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_MN && c <= UTF8PROC_CATEGORY_ME;
}

bool is_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
  }
  const auto c = category(cp);
  if ((c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_ME) || c == UTF8PROC_CATEGORY_ND ||
      c == UTF8PROC_CATEGORY_NL || c == UTF8PROC_CATEGORY_PC) {
    return true;
  }
  // Join_Control, and the Other_Alphabetic symbols (circled and squared Latin letters) that are
  // Alphabetic without being letters or marks.
  return cp == 0x200C || cp == 0x200D || (cp >= 0x24B6 && cp <= 0x24E9) ||
         (cp >= 0x1F130 && cp <= 0x1F149) || (cp >= 0x1F150 && cp <= 0x1F169) ||
         (cp >= 0x1F170 && cp <= 0x1F189);
}

bool is_other(char32_t cp) {
  const auto c = category(cp);
  return c >= UTF8PROC_CATEGORY_CC && c <= UTF8PROC_CATEGORY_CO;
}

std::u32string nfd(std::u32string_view text) {
  if (text.empty()) return {};
  const std::string utf8 = encode_utf8(text);
  const auto* data = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  const auto size = static_cast<utf8proc_ssize_t>(utf8.size());
  const int options = UTF8PROC_DECOMPOSE | UTF8PROC_STABLE;
  // First call sizes the buffer; a decomposition is at most a few code points per input one.
  std::vector<utf8proc_int32_t> buffer(text.size() * 4 + 8);
  auto n = utf8proc_decompose(data, size, buffer.data(), static_cast<utf8proc_ssize_t>(buffer.size()),
                              static_cast<utf8proc_option_t>(options));
  if (n > static_cast<utf8proc_ssize_t>(buffer.size())) {
    buffer.resize(static_cast<size_t>(n));
    n = utf8proc_decompose(data, size, buffer.data(), n, static_cast<utf8proc_option_t>(options));
  }
  if (n < 0) throw_error("NFD failed: ", utf8proc_errmsg(n));
  return std::u32string(buffer.begin(), buffer.begin() + n);
}

std::u32string nfc(std::u32string_view text) {
  if (text.empty()) return {};
  const std::string utf8 = encode_utf8(text);
  utf8proc_uint8_t* out = nullptr;
  const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()),
                              static_cast<utf8proc_ssize_t>(utf8.size()), &out,
                              static_cast<utf8proc_option_t>(UTF8PROC_COMPOSE | UTF8PROC_STABLE));
  if (n < 0) throw_error("NFC failed: ", utf8proc_errmsg(n));
  std::u32string result;
  try {
    result = decode_utf8(std::string_view(reinterpret_cast<const char*>(out), static_cast<size_t>(n)));
  } catch (...) {
    std::free(out);
    throw;
  }
  std::free(out);
  return result;
}

std::u32string decompose(char32_t cp) {
  utf8proc_int32_t buffer[32];
  int last_boundclass = 0;
  const auto n = utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer, 32,
                                         static_cast<utf8proc_option_t>(UTF8PROC_DECOMPOSE),
                                         &last_boundclass);
  if (n <= 0 || n > 32) return std::u32string(1, cp);
  return std::u32string(buffer, buffer + n);
}

int combining_class(char32_t cp) {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

void append_lowercase(std::u32string& out, char32_t cp) {
  // The only unconditional multi-code-point lower-case mapping (SpecialCasing.txt); utf8proc only
  // knows the simple one-to-one mappings.
  if (cp == 0x130) {
    out.push_back(0x69);
    out.push_back(0x307);
    return;
  }
  out.push_back(static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp))));
}

}  // namespace lightpeft::unicode
