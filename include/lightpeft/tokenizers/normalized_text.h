#pragma once
// A piece of input text on its way through normalizers and pre-tokenizers that remembers, for every
// byte, which bytes of the original input it stands for (HF tokenizers' NormalizedString), so that
// each token can be given the span of the input it came from (Encoding::offsets).
//
// Alignments here are absolute byte offsets into the input; HF keeps them relative to each slice
// and adds the slice's shift back at the end, which gives the same numbers.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {

// [begin, end) bytes of the original input.
struct Span {
  uint32_t begin = 0;
  uint32_t end = 0;
};

class NormalizedText {
 public:
  NormalizedText() = default;
  // `text` as it is (valid UTF-8, under 4 GiB): every byte stands for the character it is part of.
  explicit NormalizedText(std::string_view text);

  const std::string& text() const { return text_; }
  bool empty() const { return text_.empty(); }
  size_t size() const { return text_.size(); }
  // Where this piece starts in the input (HF's original_shift): a normalizer that prepends to the
  // piece does not move it; the Metaspace pre-tokenizer's prepend_scheme "first" asks it.
  size_t original_begin() const { return original_begin_; }
  // The input span of the normalized bytes [begin, end) (begin < end): from the first byte's start
  // to the last byte's end, as HF's convert_offsets.
  Span original_span(size_t begin, size_t end) const;
  // The normalized bytes [begin, end) (on character boundaries) as a piece of their own.
  NormalizedText slice(size_t begin, size_t end) const;

  // One character of a transformation (HF's NormalizedString::transform), relative to the current
  // characters read left to right:
  //   change 0:  replaces the next current character (and takes its alignment);
  //   change 1:  is inserted (aligned like the byte before it);
  //   change -n: replaces the next current character, and the n after it are removed.
  struct Change {
    char32_t cp;
    int64_t change;
  };
  // Rebuilds the whole text from `changes`; the first `initial_removed` current characters are
  // removed before the first change applies.
  void transform(const std::vector<Change>& changes, size_t initial_removed = 0);

  // The operations normalizers and pre-tokenizers are made of, each as HF's NormalizedString has it.
  void prepend(std::string_view prefix);  // no-op on an empty text
  // Replaces every (non-overlapping, leftmost) occurrence of `pattern` (not empty) by `content`.
  void replace(std::string_view pattern, std::string_view content);
  void lowercase();
  void nfd();
  void nfc();
  // Drops leading and/or trailing whitespace.
  void strip(bool left, bool right);
  // Keeps the characters for which keep(cp) is true.
  template <typename Keep>
  void filter(Keep keep);
  // Replaces each character by map(cp).
  template <typename Map>
  void map(Map map);
  // GPT-2's byte-level mapping: every byte becomes its printable stand-in character.
  void to_byte_level();

  // Calls fn(cp, byte_offset, byte_length) for each character.
  template <typename Fn>
  void for_each_char(Fn fn) const;

 private:
  std::string text_;
  std::vector<Span> align_;  // one per byte of text_
  size_t original_begin_ = 0;
};

// ---- template definitions ------------------------------------------------------------------------

template <typename Fn>
void NormalizedText::for_each_char(Fn fn) const {
  size_t pos = 0;
  while (pos < text_.size()) {
    size_t length = 0;
    const char32_t cp = unicode::code_point_at(text_, pos, &length);
    fn(cp, pos, length);
    pos += length;
  }
}

template <typename Keep>
void NormalizedText::filter(Keep keep) {
  // As HF: a kept character carries, as a negative change, the number of removed ones after it;
  // the removed ones at the very start are the initial removal.
  std::vector<Change> changes;
  changes.reserve(text_.size());
  int64_t removed = 0;
  size_t removed_start = 0;
  bool have_last = false;
  char32_t last = 0;
  bool all_kept = true;
  for_each_char([&](char32_t cp, size_t, size_t) {
    if (keep(cp)) {
      if (have_last) {
        changes.push_back({last, -removed});
      } else {
        removed_start = static_cast<size_t>(removed);
      }
      last = cp;
      have_last = true;
      removed = 0;
    } else {
      ++removed;
      all_kept = false;
    }
  });
  if (all_kept) return;
  if (have_last) changes.push_back({last, -removed});
  transform(changes, have_last ? removed_start : static_cast<size_t>(removed));
}

template <typename Map>
void NormalizedText::map(Map map) {
  std::vector<Change> changes;
  changes.reserve(text_.size());
  bool changed = false;
  for_each_char([&](char32_t cp, size_t, size_t) {
    const char32_t mapped = map(cp);
    changed = changed || mapped != cp;
    changes.push_back({mapped, 0});
  });
  if (changed) transform(changes);
}

}  // namespace lightpeft
