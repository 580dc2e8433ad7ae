#pragma once
// Extractive QA inputs: a question with its context, cut into windows when the pair is longer than
// max_length, as HF's run_qa gets them from tokenizer(question, context, truncation="only_second",
// max_length, stride=doc_stride, return_overflowing_tokens=True, return_offsets_mapping=True):
//
//   [CLS] question [SEP] context tokens [a, b) [SEP]     (RoBERTa: <s> q </s></s> ... </s>)
//
// The question (left-stripped, as run_qa does) is kept whole in every window; the context's tokens
// are cut into spans of `room` = max_length - special tokens - question tokens, each starting
// room - doc_stride tokens after the previous one (so consecutive windows share doc_stride tokens),
// the last one ending with the context. A pair that fits is one window.
//
// Training labels are run_qa's: the answer's first and last token inside the window, or the CLS
// position (0) when the window does not hold the whole answer or there is none. One deliberate
// difference: run_qa's search for the start token can run past the context into the [SEP] (or
// padding) when the answer starts in the window's last context token, labelling that [SEP]; here
// the search stays in the context and labels the last context token.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/data/batcher.h"
#include "lightpeft/data/example.h"
#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

struct QaWindowOptions {
  int64_t max_length = 384;  // tokens of one window: question, context span and special tokens
  int64_t doc_stride = 128;  // context tokens that consecutive windows share
};

// Where a window's context tokens are, to map token positions back to context text.
struct QaWindow {
  int64_t example = 0;        // the question's position in its split (set by the caller)
  int64_t context_start = 0;  // position of the window's first context token in input_ids
  // The [begin, end) bytes in the context of each of the window's context tokens.
  std::vector<TokenOffsets> context_offsets;

  // The context bytes of the token at `position`, or nullopt for a token outside the context
  // (question, special tokens, padding).
  std::optional<TokenOffsets> context_span(int64_t position) const;
};

// One model input: the encoding (label_positions = {start, end}) and its window.
struct QaFeature {
  EncodedExample input;
  QaWindow window;
};

// The windows of one question in order. `answer` (null: none, or unanswerable) gives the labels;
// its start is a byte offset into `context`. Throws lightpeft::Error when max_length leaves no
// room for the context next to the question, or doc_stride is not below that room (HF refuses both).
std::vector<QaFeature> encode_qa_windows(const Tokenizer& tokenizer, const std::string& question,
                                         const std::string& context, const SpanAnswer* answer,
                                         const QaWindowOptions& options);

// Python's str.lstrip(): leading Unicode whitespace removed.
std::string lstrip_whitespace(const std::string& text);

}  // namespace lightpeft
