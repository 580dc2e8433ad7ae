#include "lightpeft/tokenizers/post_processor.h"

#include <utility>

namespace lightpeft {
namespace {

TemplatePiece special(int64_t id, int64_t type_id) {
  return {TemplatePiece::Kind::special, {id}, type_id};
}
TemplatePiece first(int64_t type_id) { return {TemplatePiece::Kind::first, {}, type_id}; }
TemplatePiece second(int64_t type_id) { return {TemplatePiece::Kind::second, {}, type_id}; }

std::vector<TemplatePiece> without_specials(const std::vector<TemplatePiece>& pieces) {
  std::vector<TemplatePiece> out;
  for (const auto& piece : pieces) {
    if (piece.kind != TemplatePiece::Kind::special) out.push_back(piece);
  }
  return out;
}

// The layout HF's processors other than TemplateProcessing use without special tokens: the
// sequences as they are, typed 0 and 1.
void set_default_plain(SpecialTokensTemplate& t) {
  t.single_plain = {first(0)};
  t.pair_plain = {first(0), second(1)};
}

}  // namespace

SpecialTokensTemplate SpecialTokensTemplate::bert(int64_t cls_id, int64_t sep_id) {
  SpecialTokensTemplate t;
  t.single = {special(cls_id, 0), first(0), special(sep_id, 0)};
  t.pair = {special(cls_id, 0), first(0), special(sep_id, 0), second(1), special(sep_id, 1)};
  set_default_plain(t);
  return t;
}

SpecialTokensTemplate SpecialTokensTemplate::roberta(int64_t cls_id, int64_t sep_id) {
  SpecialTokensTemplate t;
  t.single = {special(cls_id, 0), first(0), special(sep_id, 0)};
  t.pair = {special(cls_id, 0), first(0),          special(sep_id, 0),
            special(sep_id, 0), second(0),         special(sep_id, 0)};
  // RobertaProcessing types the second sequence 0 even without special tokens.
  t.single_plain = {first(0)};
  t.pair_plain = {first(0), second(0)};
  return t;
}

SpecialTokensTemplate SpecialTokensTemplate::none() {
  SpecialTokensTemplate t;
  set_default_plain(t);
  t.single = t.single_plain;
  t.pair = t.pair_plain;
  return t;
}

SpecialTokensTemplate SpecialTokensTemplate::from_template(std::vector<TemplatePiece> single,
                                                           std::vector<TemplatePiece> pair) {
  SpecialTokensTemplate t;
  t.single_plain = without_specials(single);
  t.pair_plain = without_specials(pair);
  t.single = std::move(single);
  t.pair = std::move(pair);
  return t;
}

int64_t SpecialTokensTemplate::num_special_tokens(bool is_pair) const {
  int64_t n = 0;
  for (const auto& piece : is_pair ? pair : single) {
    if (piece.kind == TemplatePiece::Kind::special) n += static_cast<int64_t>(piece.ids.size());
  }
  return n;
}

Encoding SpecialTokensTemplate::apply(const EncodedText& first, const EncodedText* second,
                                      bool add_special_tokens) const {
  const bool is_pair = second != nullptr;
  const auto& pieces = add_special_tokens ? (is_pair ? pair : single)
                                          : (is_pair ? pair_plain : single_plain);
  Encoding out;
  auto append = [&out](const std::vector<int64_t>& ids, const std::vector<TokenOffsets>* offsets,
                       int64_t type_id) {
    out.input_ids.insert(out.input_ids.end(), ids.begin(), ids.end());
    out.token_type_ids.insert(out.token_type_ids.end(), ids.size(), type_id);
    if (offsets != nullptr && offsets->size() == ids.size()) {
      out.offsets.insert(out.offsets.end(), offsets->begin(), offsets->end());
    } else {
      out.offsets.insert(out.offsets.end(), ids.size(), TokenOffsets{0, 0});
    }
  };
  for (const auto& piece : pieces) {
    switch (piece.kind) {
      case TemplatePiece::Kind::special: append(piece.ids, nullptr, piece.type_id); break;
      case TemplatePiece::Kind::first: append(first.ids, &first.offsets, piece.type_id); break;
      case TemplatePiece::Kind::second:
        if (is_pair) append(second->ids, &second->offsets, piece.type_id);
        break;
    }
  }
  out.attention_mask.assign(out.input_ids.size(), 1);
  return out;
}

Encoding SpecialTokensTemplate::apply(const std::vector<int64_t>& first_ids,
                                      const std::vector<int64_t>* second_ids,
                                      bool add_special_tokens) const {
  EncodedText first{first_ids, {}};
  std::optional<EncodedText> second;
  if (second_ids != nullptr) second = EncodedText{*second_ids, {}};
  return apply(first, second ? &*second : nullptr, add_special_tokens);
}

std::optional<int64_t> SpecialTokensTemplate::leading_special() const {
  if (single.size() < 2 || single.front().kind != TemplatePiece::Kind::special) return std::nullopt;
  if (single.front().ids.size() != 1) return std::nullopt;
  return single.front().ids[0];
}

std::optional<int64_t> SpecialTokensTemplate::trailing_special() const {
  if (single.size() < 2 || single.back().kind != TemplatePiece::Kind::special) return std::nullopt;
  if (single.back().ids.size() != 1) return std::nullopt;
  return single.back().ids[0];
}

}  // namespace lightpeft
