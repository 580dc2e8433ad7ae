#pragma once
// GPT-2/RoBERTa byte-level BPE tokenizer: added tokens, optional prefix space, GPT-2 regex split,
// bytes mapped to printable characters, BPE merges.
#include <filesystem>
#include <memory>
#include <optional>

#include "lightpeft/tokenizers/bpe_model.h"
#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

class ByteBpeTokenizer : public Tokenizer {
 public:
  // add_prefix_space: put a space before every text piece not starting with one, so that a leading
  // word is tokenized like any other (RoBERTa's default is false).
  ByteBpeTokenizer(BpeModel model, bool add_prefix_space, AddedTokens added,
                   SpecialTokensTemplate post, std::optional<int64_t> pad_id);

  // What transformers' RobertaTokenizer builds from vocab.json + merges.txt: specials <s> <pad> </s>
  // <unk> <mask> (those in the vocab) as added tokens and `<s> A </s></s> B </s>`.
  static std::unique_ptr<ByteBpeTokenizer> from_files(const std::filesystem::path& vocab_json,
                                                      const std::filesystem::path& merges_txt,
                                                      bool add_prefix_space = false);

 protected:
  std::string normalize(const std::string& text) const override { return text; }
  void tokenize(const std::string& normalized, std::vector<int64_t>& ids) const override;
  const Vocab& model_vocab() const override { return model_.vocab(); }

 private:
  BpeModel model_;
  bool add_prefix_space_;
};

}  // namespace lightpeft
