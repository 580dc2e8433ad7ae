#include "lightpeft/tokenizers/pre_tokenizers.h"

#include <algorithm>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/basic_tokenizer.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {
namespace {

struct Part {
  size_t begin, end;
  bool flag;  // is a match (before the behavior is applied), or is to be removed (after)
};

// Every character for which pred(cp) holds is one match.
template <typename Pred>
std::vector<std::pair<size_t, size_t>> char_matches(const NormalizedText& piece, Pred pred) {
  std::vector<std::pair<size_t, size_t>> matches;
  piece.for_each_char([&](char32_t cp, size_t pos, size_t length) {
    if (pred(cp)) matches.emplace_back(pos, pos + length);
  });
  return matches;
}

// Applies `fn(piece)` -> parts to every piece.
template <typename Fn>
void split_each(std::vector<NormalizedText>& pieces, Fn fn) {
  std::vector<NormalizedText> out;
  out.reserve(pieces.size());
  for (const NormalizedText& piece : pieces) {
    for (NormalizedText& part : fn(piece)) {
      if (!part.empty()) out.push_back(std::move(part));
    }
  }
  pieces.swap(out);
}

}  // namespace

std::vector<NormalizedText> split_piece(const NormalizedText& piece,
                                        const std::vector<std::pair<size_t, size_t>>& matches,
                                        SplitBehavior behavior, bool invert) {
  // The whole piece as matches and the text between them (HF's Pattern::find_matches).
  std::vector<Part> parts;
  parts.reserve(matches.size() * 2 + 1);
  size_t previous = 0;
  for (const auto& [b, e] : matches) {
    if (previous != b) parts.push_back({previous, b, invert});
    parts.push_back({b, e, !invert});
    previous = e;
  }
  if (previous != piece.size()) parts.push_back({previous, piece.size(), invert});

  // Then HF's NormalizedString::split: which parts to merge, which to drop.
  std::vector<Part> kept;  // flag: remove
  kept.reserve(parts.size());
  switch (behavior) {
    case SplitBehavior::isolated:
      for (const Part& p : parts) kept.push_back({p.begin, p.end, false});
      break;
    case SplitBehavior::removed:
      kept = parts;
      break;
    case SplitBehavior::contiguous: {
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.flag == previous_match && !kept.empty()) {
          kept.back().end = p.end;
        } else {
          kept.push_back({p.begin, p.end, false});
        }
        previous_match = p.flag;
      }
      break;
    }
    case SplitBehavior::merged_with_previous: {
      bool previous_match = false;
      for (const Part& p : parts) {
        if (p.flag && !previous_match && !kept.empty()) {
          kept.back().end = p.end;
        } else {
          kept.push_back({p.begin, p.end, false});
        }
        previous_match = p.flag;
      }
      break;
    }
    case SplitBehavior::merged_with_next: {
      bool previous_match = false;
      for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        if (it->flag && !previous_match && !kept.empty()) {
          kept.back().begin = it->begin;
        } else {
          kept.push_back({it->begin, it->end, false});
        }
        previous_match = it->flag;
      }
      std::reverse(kept.begin(), kept.end());
      break;
    }
  }
  std::vector<NormalizedText> out;
  out.reserve(kept.size());
  for (const Part& p : kept) {
    if (!p.flag && p.end > p.begin) out.push_back(piece.slice(p.begin, p.end));
  }
  return out;
}

void BertPreTokenizer::pre_tokenize(std::vector<NormalizedText>& pieces) const {
  split_each(pieces, [](const NormalizedText& piece) { return bert_pre_tokenize(piece); });
}

void WhitespaceSplitPreTokenizer::pre_tokenize(std::vector<NormalizedText>& pieces) const {
  split_each(pieces, [](const NormalizedText& piece) {
    return split_piece(piece, char_matches(piece, unicode::is_whitespace), SplitBehavior::removed);
  });
}

void ByteLevelPreTokenizer::pre_tokenize(std::vector<NormalizedText>& pieces) const {
  static const SplitRegex gpt2 = SplitRegex::gpt2();
  split_each(pieces, [&](const NormalizedText& piece) {
    NormalizedText text = piece;
    // HF adds the prefix space per piece (between added tokens), not once per input.
    if (add_prefix_space_ && text.text().front() != ' ') text.prepend(" ");
    std::vector<NormalizedText> words;
    if (use_regex_) {
      words = split_piece(text, gpt2.find_all(text.text()), SplitBehavior::isolated);
    } else {
      words.push_back(std::move(text));
    }
    for (NormalizedText& word : words) word.to_byte_level();
    return words;
  });
}

void SplitPreTokenizer::pre_tokenize(std::vector<NormalizedText>& pieces) const {
  split_each(pieces, [&](const NormalizedText& piece) {
    std::vector<std::pair<size_t, size_t>> matches;
    if (regex_) {
      matches = regex_->find_all(piece.text());
    } else {
      const std::string& text = piece.text();
      for (size_t at = text.find(literal_); at != std::string::npos;
           at = text.find(literal_, at + literal_.size())) {
        matches.emplace_back(at, at + literal_.size());
      }
    }
    return split_piece(piece, matches, behavior_, invert_);
  });
}

void DigitsPreTokenizer::pre_tokenize(std::vector<NormalizedText>& pieces) const {
  const SplitBehavior behavior = individual_ ? SplitBehavior::isolated : SplitBehavior::contiguous;
  split_each(pieces, [&](const NormalizedText& piece) {
    return split_piece(piece, char_matches(piece, unicode::is_number), behavior);
  });
}

void MetaspacePreTokenizer::pre_tokenize(std::vector<NormalizedText>& pieces) const {
  split_each(pieces, [&](const NormalizedText& piece) {
    NormalizedText text = piece;
    text.replace(" ", replacement_);
    const bool starts_with_replacement = text.text().compare(0, replacement_.size(), replacement_) == 0;
    if (!starts_with_replacement &&
        (scheme_ == PrependScheme::always ||
         (scheme_ == PrependScheme::first && text.original_begin() == 0))) {
      text.prepend(replacement_);
    }
    if (!split_) return std::vector<NormalizedText>{std::move(text)};
    std::vector<std::pair<size_t, size_t>> matches;
    const std::string& s = text.text();
    for (size_t at = s.find(replacement_); at != std::string::npos;
         at = s.find(replacement_, at + replacement_.size())) {
      matches.emplace_back(at, at + replacement_.size());
    }
    return split_piece(text, matches, SplitBehavior::merged_with_next);
  });
}

void SequencePreTokenizer::pre_tokenize(std::vector<NormalizedText>& pieces) const {
  for (const auto& member : members_) member->pre_tokenize(pieces);
}

}  // namespace lightpeft
