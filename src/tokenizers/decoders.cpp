#include "lightpeft/tokenizers/decoders.h"

#include <optional>
#include <string_view>

#include "lightpeft/tokenizers/byte_level.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {
namespace {

const char* const kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// HF's WordPiece decoder cleanup (one token at a time).
void cleanup_token(std::string& token) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},   {" ?", "?"},   {" !", "!"},   {" ,", ","},   {" ' ", "'"},     {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"},        {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) replace_all(token, from, to);
}

std::vector<char32_t> code_points(const std::string& s) {
  std::vector<char32_t> out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t length = 0;
    out.push_back(unicode::code_point_at(s, pos, &length));
    pos += length;
  }
  return out;
}

// The byte of a "<0xNN>" token (Rust's u8::from_str_radix on NN, which also takes "+N").
std::optional<unsigned char> byte_token(const std::string& token) {
  if (token.size() != 6 || token.compare(0, 3, "<0x") != 0 || token[5] != '>') return std::nullopt;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  const int hi = token[3] == '+' ? 0 : hex(token[3]);
  const int lo = hex(token[4]);
  if (hi < 0 || lo < 0) return std::nullopt;
  return static_cast<unsigned char>(hi * 16 + lo);
}

bool is_valid_utf8(std::string_view bytes) { return utf8_lossy(bytes) == bytes; }

}  // namespace

std::string Decoder::decode(std::vector<std::string> tokens) const {
  decode_chain(tokens);
  std::string out;
  for (const std::string& t : tokens) out += t;
  return out;
}

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const size_t n = s.size();
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  size_t i = 0;
  while (i < n) {
    const unsigned char b = byte(i);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++i;
      continue;
    }
    size_t length = 0;
    unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
    if (b >= 0xC2 && b <= 0xDF) {
      length = 2;
    } else if (b == 0xE0) {
      length = 3, lo = 0xA0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
      length = 3;
    } else if (b == 0xED) {
      length = 3, hi = 0x9F;
    } else if (b == 0xF0) {
      length = 4, lo = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
      length = 4;
    } else if (b == 0xF4) {
      length = 4, hi = 0x8F;
    } else {
      out += kReplacementCharacter;
      ++i;
      continue;
    }
    // The maximal valid prefix of a sequence becomes one U+FFFD when the sequence is cut short.
    size_t j = i + 1;
    bool complete = j < n && byte(j) >= lo && byte(j) <= hi;
    if (complete) {
      ++j;
      for (size_t k = 2; k < length; ++k, ++j) {
        if (j >= n || byte(j) < 0x80 || byte(j) > 0xBF) {
          complete = false;
          break;
        }
      }
    }
    if (complete) {
      out.append(s.substr(i, length));
    } else {
      out += kReplacementCharacter;
    }
    i = j;
  }
  return out;
}

std::string clean_up_tokenization(std::string text) {
  static const std::pair<const char*, const char*> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},   {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules) replace_all(text, from, to);
  return text;
}

void ByteLevelDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::string bytes;
  for (const std::string& token : tokens) {
    const size_t before = bytes.size();
    bool all_mapped = true;
    size_t pos = 0;
    while (pos < token.size()) {
      size_t length = 0;
      const auto b = byte_level::unicode_to_byte(unicode::code_point_at(token, pos, &length));
      if (!b) {
        all_mapped = false;
        break;
      }
      bytes.push_back(static_cast<char>(*b));
      pos += length;
    }
    if (!all_mapped) {  // e.g. an added token: kept as its own bytes
      bytes.resize(before);
      bytes += token;
    }
  }
  tokens.assign(1, utf8_lossy(bytes));
}

void WordPieceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    std::string& token = tokens[i];
    if (i != 0) {
      if (token.compare(0, prefix_.size(), prefix_) == 0) {
        token.erase(0, prefix_.size());
      } else {
        token.insert(0, " ");
      }
    }
    if (cleanup_) cleanup_token(token);
  }
}

void MetaspaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool drop = i == 0 && scheme_ != PrependScheme::never;
    std::string out;
    out.reserve(tokens[i].size());
    for (size_t at = 0; at < tokens[i].size();) {
      if (tokens[i].compare(at, replacement_.size(), replacement_) == 0) {
        if (!drop) out.push_back(' ');
        at += replacement_.size();
      } else {
        out.push_back(tokens[i][at++]);
      }
    }
    tokens[i] = std::move(out);
  }
}

void ReplaceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (std::string& token : tokens) replace_all(token, pattern_, content_);
}

void ByteFallbackDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::vector<std::string> out;
  std::string pending;  // bytes of the current run of <0xNN> tokens
  auto flush = [&] {
    if (pending.empty()) return;
    if (is_valid_utf8(pending)) {
      out.push_back(pending);
    } else {
      for (size_t k = 0; k < pending.size(); ++k) out.emplace_back(kReplacementCharacter);
    }
    pending.clear();
  };
  for (std::string& token : tokens) {
    if (auto b = byte_token(token)) {
      pending.push_back(static_cast<char>(*b));
    } else {
      flush();
      out.push_back(std::move(token));
    }
  }
  flush();
  tokens = std::move(out);
}

void FuseDecoder::decode_chain(std::vector<std::string>& tokens) const {
  std::string joined;
  for (const std::string& t : tokens) joined += t;
  tokens.assign(1, std::move(joined));
}

void StripDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (std::string& token : tokens) {
    const std::vector<char32_t> chars = code_points(token);
    size_t start_cut = 0;
    for (size_t i = 0; i < start_ && i < chars.size() && chars[i] == content_; ++i) start_cut = i + 1;
    size_t stop_cut = chars.size();
    for (size_t i = 0; i < stop_ && i < chars.size() && chars[chars.size() - 1 - i] == content_; ++i) {
      stop_cut = chars.size() - 1 - i;
    }
    std::u32string kept;
    if (stop_cut > start_cut) kept.assign(chars.begin() + static_cast<ptrdiff_t>(start_cut),
                                          chars.begin() + static_cast<ptrdiff_t>(stop_cut));
    token = unicode::encode_utf8(kept);
  }
}

void BpeDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    replace_all(tokens[i], suffix_, i + 1 == tokens.size() ? "" : " ");
  }
}

void SequenceDecoder::decode_chain(std::vector<std::string>& tokens) const {
  for (const auto& member : members_) member->decode_chain(tokens);
}

}  // namespace lightpeft
