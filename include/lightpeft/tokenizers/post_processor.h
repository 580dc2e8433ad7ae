#pragma once
// Where special tokens go around one or two token sequences and which token_type_ids they get:
// BERT `[CLS] A [SEP] B [SEP]` (types 0..0 1..1), RoBERTa `<s> A </s></s> B </s>` (all 0), or a
// tokenizer.json TemplateProcessing.
#include <cstdint>
#include <optional>
#include <vector>

#include "lightpeft/tokenizers/encoding.h"

namespace lightpeft {

struct TemplatePiece {
  enum class Kind { special, first, second };
  Kind kind = Kind::special;
  std::vector<int64_t> ids;  // for Kind::special (a special token may stand for several ids)
  int64_t type_id = 0;
};

struct SpecialTokensTemplate {
  std::vector<TemplatePiece> single, pair;
  // The layout when add_special_tokens is false: HF keeps a template's type ids, RobertaProcessing
  // types both sequences 0, the others type the first 0 and the second 1.
  std::vector<TemplatePiece> single_plain, pair_plain;

  static SpecialTokensTemplate bert(int64_t cls_id, int64_t sep_id);
  static SpecialTokensTemplate roberta(int64_t cls_id, int64_t sep_id);
  // No special tokens at all (tokenizer.json without a post_processor, or ByteLevel only).
  static SpecialTokensTemplate none();
  // From TemplateProcessing pieces; the plain layout keeps their type ids.
  static SpecialTokensTemplate from_template(std::vector<TemplatePiece> single,
                                             std::vector<TemplatePiece> pair);

  // Number of special token ids added around one sequence (is_pair false) or two.
  int64_t num_special_tokens(bool is_pair) const;
  // Lays out first (and second) with the special tokens; attention_mask is all 1, special tokens
  // get offsets (0, 0).
  Encoding apply(const EncodedText& first, const EncodedText* second, bool add_special_tokens) const;
  // The same for ids alone (all offsets (0, 0)).
  Encoding apply(const std::vector<int64_t>& first, const std::vector<int64_t>* second,
                 bool add_special_tokens) const;
  // The special token before and after the first text in `single` (a template's bos/eos), if any.
  std::optional<int64_t> leading_special() const;
  std::optional<int64_t> trailing_special() const;
};

// ByteLevel / RobertaProcessing trim_offsets: the offsets of a token whose string starts or ends with
// spaces ("Ġ" or whitespace) leave those out; with add_prefix_space the first token keeps its one
// leading space.
struct OffsetTrimming {
  bool add_prefix_space = false;
};

}  // namespace lightpeft
