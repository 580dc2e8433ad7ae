#pragma once
// The model step of a tokenizer: one pre-tokenized word -> token ids, each with the bytes of the word
// it covers. Implementations: WordPieceModel (wordpiece.h) and BpeModel (bpe_model.h).
#include <cstdint>
#include <string_view>
#include <vector>

#include "lightpeft/tokenizers/vocab.h"

namespace lightpeft {

struct ModelToken {
  int64_t id = 0;
  uint32_t begin = 0;  // [begin, end) bytes of the word
  uint32_t end = 0;
};

class TokenizerModel {
 public:
  virtual ~TokenizerModel() = default;
  // Appends the tokens of `word` (not empty; valid UTF-8).
  virtual void tokenize(std::string_view word, std::vector<ModelToken>& tokens) const = 0;
  virtual const Vocab& vocab() const = 0;
  // transformers leaves its clean_up_tokenization out for BPE models (it would eat real spaces).
  virtual bool is_bpe() const = 0;
};

}  // namespace lightpeft
