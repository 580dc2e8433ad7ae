#pragma once
// BERT's WordPiece tokenizer: BasicTokenizer (basic_tokenizer.h) then greedy longest-match-first
// sub-words with a "##" continuation prefix.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/tokenizers/basic_tokenizer.h"
#include "lightpeft/tokenizers/tokenizer.h"
#include "lightpeft/tokenizers/tokenizer_model.h"

namespace lightpeft {

class WordPieceModel : public TokenizerModel {
 public:
  // Throws lightpeft::Error when unk_token is not in the vocabulary.
  WordPieceModel(Vocab vocab, std::string unk_token = "[UNK]",
                 std::string continuing_subword_prefix = "##",
                 int64_t max_input_chars_per_word = 100);
  // Appends the sub-word ids of one pre-tokenized word; a word longer than
  // max_input_chars_per_word, or one with a part no vocabulary entry matches, becomes [UNK].
  void tokenize_word(const std::string& word, std::vector<int64_t>& ids) const;
  // The same with each sub-word's bytes ([UNK] covers the whole word).
  void tokenize(std::string_view word, std::vector<ModelToken>& tokens) const override;
  const Vocab& vocab() const override { return vocab_; }
  bool is_bpe() const override { return false; }

 private:
  Vocab vocab_;
  std::string prefix_;
  int64_t max_chars_;
  int64_t unk_id_;
};

// BERT's tokenizer: BertNormalizer (when given), BertPreTokenizer, WordPiece, the WordPiece decoder
// ("##" pieces joined, spaces before punctuation cleaned up).
class WordPieceTokenizer : public Tokenizer {
 public:
  // normalizer unset: no normalization (a tokenizer.json with "normalizer": null).
  WordPieceTokenizer(WordPieceModel model, std::optional<BertNormalizerOptions> normalizer,
                     AddedTokens added, SpecialTokensTemplate post, std::optional<int64_t> pad_id);

  // What transformers' BertTokenizer(vocab.txt) builds: specials [PAD] [UNK] [CLS] [SEP] [MASK]
  // (those present in the vocab) as added tokens, and BERT's [CLS] A [SEP] B [SEP] template.
  static std::unique_ptr<WordPieceTokenizer> from_vocab_txt(const std::filesystem::path& vocab_txt,
                                                            const BertNormalizerOptions& options = {});
};

}  // namespace lightpeft
