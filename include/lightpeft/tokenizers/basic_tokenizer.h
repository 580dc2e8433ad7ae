#pragma once
// BERT's text clean-up and word splitting ahead of WordPiece, as HF tokenizers' BertNormalizer and
// BertPreTokenizer (which transformers' BertTokenizer uses).
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/tokenizers/normalized_text.h"

namespace lightpeft {

struct BertNormalizerOptions {
  // Drop NUL, U+FFFD and control/format characters; turn every whitespace character into ' '.
  bool clean_text = true;
  // Surround CJK ideographs with spaces so that each becomes its own word.
  bool handle_chinese_chars = true;
  // NFD and drop non-spacing marks; unset: follow `lowercase`.
  std::optional<bool> strip_accents;
  bool lowercase = true;
};

std::string bert_normalize(const std::string& text, const BertNormalizerOptions& options);
// The same on a piece that keeps its alignment to the input (the steps HF's BertNormalizer takes).
void bert_normalize(NormalizedText& text, const BertNormalizerOptions& options);
// Splits on whitespace (dropped) and isolates every punctuation character (BERT's definition: ASCII
// 33-47, 58-64, 91-96, 123-126 and Unicode P*).
std::vector<std::string> bert_pre_tokenize(const std::string& normalized);
// The same on a piece: the words, aligned to the input.
std::vector<NormalizedText> bert_pre_tokenize(const NormalizedText& normalized);
bool is_bert_punctuation(char32_t cp);

}  // namespace lightpeft
