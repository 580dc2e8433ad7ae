#include "lightpeft/tokenizers/added_tokens.h"

#include <algorithm>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {
namespace {

// Byte length of the whitespace run that ends at `end` without reaching back past `floor` (lstrip).
size_t whitespace_before(std::string_view text, size_t end, size_t floor) {
  const std::u32string before = unicode::decode_utf8(text.substr(floor, end - floor));
  size_t bytes = 0;
  for (auto it = before.rbegin(); it != before.rend() && unicode::is_whitespace(*it); ++it) {
    std::string utf8;
    unicode::append_utf8(utf8, *it);
    bytes += utf8.size();
  }
  return bytes;
}

// Byte length of the whitespace run that starts at `begin` (rstrip).
size_t whitespace_after(std::string_view text, size_t begin) {
  const std::u32string after = unicode::decode_utf8(text.substr(begin));
  size_t bytes = 0;
  for (char32_t cp : after) {
    if (!unicode::is_whitespace(cp)) break;
    std::string utf8;
    unicode::append_utf8(utf8, cp);
    bytes += utf8.size();
  }
  return bytes;
}

// Whether the character ending at `end` (a byte offset) is a word character (\w).
bool word_char_before(std::string_view text, size_t end) {
  if (end == 0) return false;
  size_t begin = end - 1;
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  const std::u32string cp = unicode::decode_utf8(text.substr(begin, end - begin));
  return !cp.empty() && unicode::is_word_char(cp.back());
}

// Whether the character starting at `begin` is a word character (\w).
bool word_char_after(std::string_view text, size_t begin) {
  if (begin >= text.size()) return false;
  size_t end = begin + 1;
  while (end < text.size() && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) ++end;
  const std::u32string cp = unicode::decode_utf8(text.substr(begin, end - begin));
  return !cp.empty() && unicode::is_word_char(cp.front());
}

}  // namespace

void AddedTokens::add(AddedToken token) {
  LP_CHECK(!token.content.empty(), "added token with id ", token.id, ": expected non-empty content");
  auto existing = by_content_.find(token.content);
  if (existing != by_content_.end()) {
    patterns_[existing->second] = token.content;
    tokens_[existing->second] = std::move(token);  // a repeated token replaces the earlier entry
  } else {
    by_content_[token.content] = tokens_.size();
    patterns_.push_back(token.content);
    tokens_.push_back(std::move(token));
  }
  rebuild_index();
}

void AddedTokens::normalize_patterns(
    const std::function<std::string(const std::string&)>& normalize) {
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].normalized) patterns_[i] = normalize(tokens_[i].content);
  }
  rebuild_index();
}

// Added tokens are few, so the lookups are simply rebuilt after every change.
void AddedTokens::rebuild_index() {
  by_id_.clear();
  for (auto& bucket : by_first_byte_) bucket.clear();
  has_normalized_ = false;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    by_id_[tokens_[i].id] = i;
    has_normalized_ = has_normalized_ || tokens_[i].normalized;
    if (patterns_[i].empty()) continue;  // normalized away: it can never match
    by_first_byte_[static_cast<unsigned char>(patterns_[i][0])].push_back(i);
  }
  for (auto& bucket : by_first_byte_) {
    std::stable_sort(bucket.begin(), bucket.end(),
                     [&](size_t a, size_t b) { return patterns_[a].size() > patterns_[b].size(); });
  }
}

const AddedToken* AddedTokens::longest_match(std::string_view text, size_t pos,
                                             bool normalized) const {
  for (size_t index : by_first_byte_[static_cast<unsigned char>(text[pos])]) {
    const std::string& pattern = patterns_[index];
    if (tokens_[index].normalized == normalized && text.compare(pos, pattern.size(), pattern) == 0) {
      return &tokens_[index];  // buckets are sorted longest first
    }
  }
  return nullptr;
}

std::vector<TextPiece> AddedTokens::split(std::string_view text, bool normalized) const {
  std::vector<TextPiece> pieces;
  size_t piece_start = 0;  // start of the pending plain-text piece
  size_t pos = 0;
  while (pos < text.size()) {
    const AddedToken* token = longest_match(text, pos, normalized);
    if (token == nullptr) {
      ++pos;
      continue;
    }
    size_t start = pos;
    size_t stop = pos + patterns_[static_cast<size_t>(token - tokens_.data())].size();
    // HF's search resumes after a match it then refuses, so the refused text is not searched again.
    if (token->single_word && (word_char_before(text, start) || word_char_after(text, stop))) {
      pos = stop;
      continue;
    }
    if (token->lstrip) start -= whitespace_before(text, start, piece_start);
    if (token->rstrip) stop += whitespace_after(text, stop);
    if (start > piece_start) pieces.push_back({text.substr(piece_start, start - piece_start), {}});
    pieces.push_back({text.substr(start, stop - start), token->id});
    piece_start = pos = stop;
  }
  if (piece_start < text.size()) pieces.push_back({text.substr(piece_start), {}});
  return pieces;
}

std::optional<int64_t> AddedTokens::find(const std::string& content) const {
  auto it = by_content_.find(content);
  if (it == by_content_.end()) return std::nullopt;
  return tokens_[it->second].id;
}

const std::string* AddedTokens::content(int64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second].content;
}

const AddedToken* AddedTokens::token(int64_t id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &tokens_[it->second];
}

const std::string* AddedTokens::token_string(int64_t id) const {
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return nullptr;
  const size_t i = it->second;
  // An empty normalized form could never match; HF still reports the normalized string.
  return tokens_[i].normalized ? &patterns_[i] : &tokens_[i].content;
}

bool AddedTokens::is_special_content(const std::string& token) const {
  auto it = by_content_.find(token);
  return it != by_content_.end() && tokens_[it->second].special;
}

}  // namespace lightpeft
