#pragma once
// GPT-2/RoBERTa byte-level BPE tokenizer: added tokens, optional prefix space, GPT-2 regex split,
// bytes mapped to printable characters, BPE merges. (Other byte-level tokenizers, e.g. LLaMA-3's,
// come from tokenizer.json: hf_tokenizer_json.h.)
#include <filesystem>
#include <memory>
#include <optional>

#include "lightpeft/tokenizers/bpe_model.h"
#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

class ByteBpeTokenizer : public Tokenizer {
 public:
  // add_prefix_space: put a space before every text piece not starting with one, so that a leading
  // word is tokenized like any other (RoBERTa's default is false). Offsets are trimmed of spaces as
  // RobertaProcessing's trim_offsets does; the ByteLevel decoder turns ids back into text.
  ByteBpeTokenizer(BpeModel model, bool add_prefix_space, AddedTokens added,
                   SpecialTokensTemplate post, std::optional<int64_t> pad_id);

  // What transformers' RobertaTokenizer builds from vocab.json + merges.txt: specials <s> <pad> </s>
  // <unk> <mask> (those in the vocab) as added tokens and `<s> A </s></s> B </s>`; bos <s>, eos </s>.
  static std::unique_ptr<ByteBpeTokenizer> from_files(const std::filesystem::path& vocab_json,
                                                      const std::filesystem::path& merges_txt,
                                                      bool add_prefix_space = false);

 private:
  explicit ByteBpeTokenizer(TokenizerParts parts) : Tokenizer(std::move(parts)) {}
  static TokenizerParts parts(BpeModel model, bool add_prefix_space, AddedTokens added,
                              SpecialTokensTemplate post, std::optional<int64_t> pad_id);
};

}  // namespace lightpeft
