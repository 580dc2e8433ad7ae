#include "lightpeft/tokenizers/byte_level.h"

#include <array>

#include "lightpeft/tokenizers/split_regex.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft::byte_level {
namespace {

// GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 onwards.
struct ByteMap {
  std::array<std::string, 256> to_char;
  std::array<int, 512> to_byte{};  // stand-ins are all below U+0200; -1 for other characters

  ByteMap() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
      const char32_t cp = printable ? static_cast<char32_t>(b) : next++;
      unicode::append_utf8(to_char[static_cast<size_t>(b)], cp);
      to_byte[cp] = b;
    }
  }
};

const ByteMap& byte_map() {
  static const ByteMap map;
  return map;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> split_gpt2(const std::u32string& text) {
  return SplitRegex::gpt2().find_all(text);
}

std::string bytes_to_unicode(std::string_view bytes) {
  const ByteMap& map = byte_map();
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += map.to_char[static_cast<unsigned char>(c)];
  return out;
}

std::string_view byte_to_unicode(unsigned char byte) { return byte_map().to_char[byte]; }

std::optional<unsigned char> unicode_to_byte(char32_t cp) {
  if (cp >= 512) return std::nullopt;
  const int b = byte_map().to_byte[cp];
  if (b < 0) return std::nullopt;
  return static_cast<unsigned char>(b);
}

}  // namespace lightpeft::byte_level
