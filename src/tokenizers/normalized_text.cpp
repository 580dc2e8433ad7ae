#include "lightpeft/tokenizers/normalized_text.h"

#include <algorithm>
#include <limits>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/byte_level.h"

namespace lightpeft {

NormalizedText::NormalizedText(std::string_view text) : text_(text) {
  LP_CHECK(text.size() < std::numeric_limits<uint32_t>::max(), "tokenizer input of ", text.size(),
           " bytes: expected less than 4 GiB");
  align_.resize(text_.size());
  for_each_char([&](char32_t, size_t pos, size_t length) {
    const Span span{static_cast<uint32_t>(pos), static_cast<uint32_t>(pos + length)};
    std::fill(align_.begin() + static_cast<ptrdiff_t>(pos),
              align_.begin() + static_cast<ptrdiff_t>(pos + length), span);
  });
}

Span NormalizedText::original_span(size_t begin, size_t end) const {
  LP_CHECK(begin < end && end <= align_.size(), "NormalizedText: span [", begin, ", ", end,
           ") outside the ", align_.size(), " bytes of the text (internal error)");
  return {align_[begin].begin, align_[end - 1].end};
}

NormalizedText NormalizedText::slice(size_t begin, size_t end) const {
  LP_CHECK(begin <= end && end <= text_.size(), "NormalizedText: slice [", begin, ", ", end,
           ") outside the ", text_.size(), " bytes of the text (internal error)");
  NormalizedText out;
  out.text_ = text_.substr(begin, end - begin);
  out.align_.assign(align_.begin() + static_cast<ptrdiff_t>(begin),
                    align_.begin() + static_cast<ptrdiff_t>(end));
  out.original_begin_ = begin < end ? align_[begin].begin : original_begin_;
  return out;
}

void NormalizedText::transform(const std::vector<Change>& changes, size_t initial_removed) {
  // `offset` is the byte position of the next current character, as in HF's transform_range.
  size_t offset = 0;
  auto skip_chars = [&](size_t n) {
    for (size_t i = 0; i < n && offset < text_.size(); ++i) {
      size_t length = 0;
      unicode::code_point_at(text_, offset, &length);
      offset += length;
    }
  };
  skip_chars(initial_removed);
  std::string text;
  std::vector<Span> align;
  text.reserve(text_.size() + changes.size());
  align.reserve(text_.size() + changes.size());
  const Span at_start{static_cast<uint32_t>(original_begin_), static_cast<uint32_t>(original_begin_)};
  for (const Change& c : changes) {
    Span span;
    if (c.change > 0) {
      span = offset < 1 ? at_start : align_[offset - 1];  // inserted: aligned like the byte before
    } else {
      LP_CHECK(offset < text_.size(), "NormalizedText: transformation past the end of the text ",
               "(internal error)");
      span = align_[offset];
      skip_chars(1);
      if (c.change < 0) skip_chars(static_cast<size_t>(-c.change));
    }
    const size_t before = text.size();
    unicode::append_utf8(text, c.cp);
    align.insert(align.end(), text.size() - before, span);
  }
  text_ = std::move(text);
  align_ = std::move(align);
}

void NormalizedText::prepend(std::string_view prefix) {
  if (text_.empty() || prefix.empty()) return;
  // HF replaces the first character by the prefix's first one and inserts the rest: everything
  // prepended is aligned with the first character.
  const Span first = align_.front();
  text_.insert(0, prefix);
  align_.insert(align_.begin(), prefix.size(), first);
}

void NormalizedText::replace(std::string_view pattern, std::string_view content) {
  LP_CHECK(!pattern.empty(), "NormalizedText::replace: empty pattern (internal error)");
  size_t match = text_.find(pattern);
  if (match == std::string::npos) return;
  std::string text;
  std::vector<Span> align;
  text.reserve(text_.size());
  align.reserve(text_.size());
  size_t last = 0;
  while (match != std::string::npos) {
    text.append(text_, last, match - last);
    align.insert(align.end(), align_.begin() + static_cast<ptrdiff_t>(last),
                 align_.begin() + static_cast<ptrdiff_t>(match));
    // The replacement is aligned with the last byte of what it replaces (HF inserts it after the
    // removed match).
    const size_t end = match + pattern.size();
    text.append(content);
    align.insert(align.end(), content.size(), align_[end - 1]);
    last = end;
    match = text_.find(pattern, end);
  }
  text.append(text_, last, std::string::npos);
  align.insert(align.end(), align_.begin() + static_cast<ptrdiff_t>(last), align_.end());
  text_ = std::move(text);
  align_ = std::move(align);
}

void NormalizedText::lowercase() {
  std::vector<Change> changes;
  changes.reserve(text_.size());
  bool changed = false;
  std::u32string lower;
  for_each_char([&](char32_t cp, size_t, size_t) {
    lower.clear();
    unicode::append_lowercase(lower, cp);
    changed = changed || lower.size() != 1 || lower[0] != cp;
    for (size_t i = 0; i < lower.size(); ++i) changes.push_back({lower[i], i > 0 ? 1 : 0});
  });
  if (changed) transform(changes);
}

void NormalizedText::nfd() {
  // Each character's decomposition replaces it (its first code point) or is inserted after it (the
  // others); canonical ordering then sorts runs of non-starters, their changes moving with them.
  std::vector<Change> changes;
  changes.reserve(text_.size());
  bool changed = false;
  for_each_char([&](char32_t cp, size_t, size_t) {
    const std::u32string parts = unicode::decompose(cp);
    changed = changed || parts.size() != 1 || parts[0] != cp;
    for (size_t i = 0; i < parts.size(); ++i) changes.push_back({parts[i], i > 0 ? 1 : 0});
  });
  size_t i = 0;
  while (i < changes.size()) {
    if (unicode::combining_class(changes[i].cp) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < changes.size() && unicode::combining_class(changes[j].cp) != 0) ++j;
    if (j - i > 1) {
      auto before = std::vector<Change>(changes.begin() + static_cast<ptrdiff_t>(i),
                                        changes.begin() + static_cast<ptrdiff_t>(j));
      std::stable_sort(changes.begin() + static_cast<ptrdiff_t>(i),
                       changes.begin() + static_cast<ptrdiff_t>(j), [](const Change& a, const Change& b) {
                         return unicode::combining_class(a.cp) < unicode::combining_class(b.cp);
                       });
      for (size_t k = i; k < j; ++k) changed = changed || changes[k].cp != before[k - i].cp;
      // Changes are positional (which current character is replaced), so they stay in place.
      for (size_t k = i; k < j; ++k) changes[k].change = before[k - i].change;
    }
    i = j;
  }
  if (changed) transform(changes);
}

void NormalizedText::nfc() {
  const std::u32string chars = unicode::decode_utf8(text_);
  const std::u32string composed = unicode::nfc(chars);
  if (composed == chars) return;
  // Composition stays within a group of characters: a starter with the non-starters after it, and
  // where NFC joins starters too (Hangul jamo, some Indic vowel pairs) the groups it joins. A group
  // that changes is aligned character by character as far as it goes, the composed character taking
  // the alignment of the first one it replaces (as HF's), the surplus removed with the last one.
  std::vector<std::u32string> groups;
  for (size_t i = 0; i < chars.size(); ++i) {
    if (i == 0 || unicode::combining_class(chars[i]) != 0) {
      if (i == 0) groups.emplace_back();
      groups.back().push_back(chars[i]);
      continue;
    }
    std::u32string segment(1, chars[i]);
    while (i + 1 < chars.size() && unicode::combining_class(chars[i + 1]) != 0) segment.push_back(chars[++i]);
    const std::u32string merged = groups.back() + segment;
    if (unicode::nfc(merged) != unicode::nfc(groups.back()) + unicode::nfc(segment)) {
      groups.back() = merged;
    } else {
      groups.push_back(std::move(segment));
    }
  }
  std::vector<Change> changes;
  for (const std::u32string& in : groups) {
    const std::u32string out = unicode::nfc(in);
    const size_t n = in.size(), m = out.size();
    for (size_t k = 0; k < m; ++k) {
      int64_t change = 0;
      if (k >= n) {
        change = 1;
      } else if (k + 1 == m && n > m) {
        change = -static_cast<int64_t>(n - m);
      }
      changes.push_back({out[k], change});
    }
  }
  transform(changes);
}

void NormalizedText::strip(bool left, bool right) {
  const std::u32string chars = unicode::decode_utf8(text_);
  size_t leading = 0, trailing = 0;
  if (left) {
    while (leading < chars.size() && unicode::is_whitespace(chars[leading])) ++leading;
  }
  if (right) {
    while (trailing < chars.size() - leading &&
           unicode::is_whitespace(chars[chars.size() - 1 - trailing])) {
      ++trailing;
    }
  }
  if (leading == 0 && trailing == 0) return;
  std::vector<Change> changes;
  for (size_t i = leading; i < chars.size() - trailing; ++i) changes.push_back({chars[i], 0});
  transform(changes, leading);
}

void NormalizedText::to_byte_level() {
  std::string text;
  std::vector<Span> align;
  text.reserve(text_.size() * 2);
  align.reserve(text_.size() * 2);
  for (size_t i = 0; i < text_.size(); ++i) {
    const std::string_view mapped = byte_level::byte_to_unicode(static_cast<unsigned char>(text_[i]));
    text.append(mapped);
    align.insert(align.end(), mapped.size(), align_[i]);
  }
  text_ = std::move(text);
  align_ = std::move(align);
}

}  // namespace lightpeft
