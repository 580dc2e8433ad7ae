// Question + context -> windows with run_qa's labels (data/qa_windows.h).
#include "lightpeft/data/qa_windows.h"

#include <algorithm>

#include "jinja/py_text.h"
#include "lightpeft/core/error.h"

namespace lightpeft {

std::optional<TokenOffsets> QaWindow::context_span(int64_t position) const {
  const int64_t i = position - context_start;
  if (i < 0 || i >= static_cast<int64_t>(context_offsets.size())) return std::nullopt;
  return context_offsets[static_cast<size_t>(i)];
}

std::string lstrip_whitespace(const std::string& text) { return jinja::py_strip(text, std::nullopt, true, false); }

namespace {

// run_qa's labels for one window: the answer's first and last token when the window's context holds
// all of it, else the CLS position 0 for both.
std::pair<int64_t, int64_t> window_labels(const QaWindow& w, const SpanAnswer* answer) {
  const auto& offsets = w.context_offsets;
  if (answer == nullptr || offsets.empty()) return {0, 0};
  const int64_t start_byte = answer->start;
  const int64_t end_byte = answer->start + static_cast<int64_t>(answer->text.size());
  if (!(offsets.front().first <= start_byte && offsets.back().second >= end_byte)) return {0, 0};
  // The last token starting at or before the answer's start (run_qa's forward walk, kept inside
  // the context), and the first token from the right whose end is before the answer's end, plus one.
  size_t s = 0;
  while (s + 1 < offsets.size() && offsets[s + 1].first <= start_byte) ++s;
  size_t e = offsets.size() - 1;
  while (e > 0 && offsets[e - 1].second >= end_byte) --e;
  // run_qa's backward walk stops at the token before the context (a special token, end 0 < end_byte),
  // which is what e > 0 stands for here.
  return {w.context_start + static_cast<int64_t>(s), w.context_start + static_cast<int64_t>(e)};
}

}  // namespace

std::vector<QaFeature> encode_qa_windows(const Tokenizer& tokenizer, const std::string& question,
                                         const std::string& context, const SpanAnswer* answer,
                                         const QaWindowOptions& options) {
  const EncodedText q = tokenizer.encode_text(lstrip_whitespace(question));
  const EncodedText c = tokenizer.encode_text(context);
  const auto q_len = static_cast<int64_t>(q.ids.size()), c_len = static_cast<int64_t>(c.ids.size());
  const int64_t specials = tokenizer.num_special_tokens(/*is_pair=*/true);
  const int64_t budget = options.max_length - specials;
  LP_CHECK(budget > 0, "max_length ", options.max_length, " leaves no room for the ", specials, " special tokens");

  // [begin, end) of each window's context tokens, as HF tokenizers' overflowing truncation cuts them.
  std::vector<std::pair<int64_t, int64_t>> spans;
  if (q_len + c_len <= budget) {
    spans.emplace_back(0, c_len);
  } else {
    const int64_t room = budget - q_len;
    LP_CHECK(room > 0, "the question has ", q_len, " tokens: with ", specials, " special tokens, max_length ",
             options.max_length, " leaves no room for the context (raise max_seq_length)");
    LP_CHECK(options.doc_stride < room, "doc_stride ", options.doc_stride, " must be below the ", room,
             " context tokens a window has room for next to this question (", q_len,
             " tokens; max_seq_length ", options.max_length, "): lower squad.doc_stride or raise max_seq_length");
    const int64_t step = room - options.doc_stride;
    for (int64_t begin = 0;; begin += step) {
      const int64_t end = std::min(begin + room, c_len);
      spans.emplace_back(begin, end);
      if (end == c_len) break;
    }
  }

  std::vector<QaFeature> out;
  out.reserve(spans.size());
  const int64_t context_start = tokenizer.second_text_position(q_len);
  for (const auto& [begin, end] : spans) {
    EncodedText part;
    part.ids.assign(c.ids.begin() + begin, c.ids.begin() + end);
    part.offsets.assign(c.offsets.begin() + begin, c.offsets.begin() + end);
    // HF trims each window's offsets as a sequence of its own (RoBERTa: a leading space kept).
    if (begin < end) part.offsets.front() = tokenizer.offsets_as_first(context, c, static_cast<size_t>(begin));
    Encoding e = tokenizer.with_special_tokens(q, &part);
    QaFeature f;
    f.window.context_start = context_start;
    f.window.context_offsets = std::move(part.offsets);
    const auto [start, stop] = window_labels(f.window, answer);
    f.input.input_ids = std::move(e.input_ids);
    f.input.token_type_ids = std::move(e.token_type_ids);
    f.input.label_positions = {start, stop};
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace lightpeft
