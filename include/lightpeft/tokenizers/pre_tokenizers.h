#pragma once
// Pre-tokenizers: what tokenizer.json's "pre_tokenizer" does to the normalized pieces before the
// model sees them (split into words, and for some, rewrite the characters), with HF tokenizers'
// semantics: BertPreTokenizer, WhitespaceSplit, ByteLevel, Split, Digits, Metaspace and Sequence.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lightpeft/tokenizers/normalized_text.h"
#include "lightpeft/tokenizers/split_regex.h"

namespace lightpeft {

// What happens to the matches (delimiters) of a split, on "the-final--countdown" split at '-':
//   removed:              the final countdown
//   isolated:             the - final - - countdown
//   merged_with_previous: the- final- - countdown
//   merged_with_next:     the -final - -countdown
//   contiguous:           the - final -- countdown
enum class SplitBehavior { removed, isolated, merged_with_previous, merged_with_next, contiguous };

// Splits `piece` at the [begin, end) byte ranges of `matches` (sorted, non-overlapping); `invert`
// swaps the roles of matches and the text between them. Empty parts are dropped (HF's
// NormalizedString::split followed by PreTokenizedString::split).
std::vector<NormalizedText> split_piece(const NormalizedText& piece,
                                        const std::vector<std::pair<size_t, size_t>>& matches,
                                        SplitBehavior behavior, bool invert = false);

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces every piece by its parts; pieces and parts are never empty.
  virtual void pre_tokenize(std::vector<NormalizedText>& pieces) const = 0;
};

class BertPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override;
};

// Splits on whitespace, which is dropped.
class WhitespaceSplitPreTokenizer : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override;
};

// GPT-2's: optional prefix space, the GPT-2 regex (use_regex), then every byte to its stand-in.
class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override;

 private:
  bool add_prefix_space_;
  bool use_regex_;
};

// Split at a pattern: one of the known regexes (split_regex.h) or a literal string.
class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(SplitRegex regex, SplitBehavior behavior, bool invert)
      : regex_(regex), behavior_(behavior), invert_(invert) {}
  // `literal` must not be empty.
  SplitPreTokenizer(std::string literal, SplitBehavior behavior, bool invert)
      : literal_(std::move(literal)), behavior_(behavior), invert_(invert) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override;

 private:
  std::optional<SplitRegex> regex_;
  std::string literal_;
  SplitBehavior behavior_;
  bool invert_;
};

// Numbers (Unicode N*) apart: each one alone (individual_digits) or in runs.
class DigitsPreTokenizer : public PreTokenizer {
 public:
  explicit DigitsPreTokenizer(bool individual_digits) : individual_(individual_digits) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override;

 private:
  bool individual_;
};

// When the Metaspace pre-tokenizer/decoder puts a `replacement` before a piece.
enum class PrependScheme { always, first, never };

// SentencePiece's spaces: ' ' -> replacement ("▁"), one prepended per `scheme` (first: only to the
// piece at the start of the input), and with `split`, a new word at every replacement.
class MetaspacePreTokenizer : public PreTokenizer {
 public:
  MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override;

 private:
  std::string replacement_;  // one character, UTF-8
  PrependScheme scheme_;
  bool split_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> members)
      : members_(std::move(members)) {}
  void pre_tokenize(std::vector<NormalizedText>& pieces) const override;

 private:
  std::vector<std::unique_ptr<PreTokenizer>> members_;
};

}  // namespace lightpeft
