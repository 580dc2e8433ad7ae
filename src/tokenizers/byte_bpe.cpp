#include "lightpeft/tokenizers/byte_bpe.h"

#include <utility>

#include "lightpeft/core/error.h"


namespace lightpeft {

TokenizerParts ByteBpeTokenizer::parts(BpeModel model, bool add_prefix_space, AddedTokens added,
                                       SpecialTokensTemplate post, std::optional<int64_t> pad_id) {
  TokenizerParts parts;
  parts.pre_tokenizer = std::make_unique<ByteLevelPreTokenizer>(add_prefix_space, /*use_regex=*/true);
  parts.model = std::make_unique<BpeModel>(std::move(model));
  parts.decoder = std::make_unique<ByteLevelDecoder>();
  parts.added = std::move(added);
  parts.post = std::move(post);
  parts.trim_offsets = OffsetTrimming{add_prefix_space};
  parts.pad_id = pad_id;
  return parts;
}

ByteBpeTokenizer::ByteBpeTokenizer(BpeModel model, bool add_prefix_space, AddedTokens added,
                                   SpecialTokensTemplate post, std::optional<int64_t> pad_id)
    : Tokenizer(parts(std::move(model), add_prefix_space, std::move(added), std::move(post), pad_id)) {}

std::unique_ptr<ByteBpeTokenizer> ByteBpeTokenizer::from_files(
    const std::filesystem::path& vocab_json, const std::filesystem::path& merges_txt,
    bool add_prefix_space) {
  Vocab vocab = read_vocab_json(vocab_json);
  BpeModel model(std::move(vocab), read_merges_txt(merges_txt), merges_txt.string() + " line");
  const Vocab& v = model.vocab();
  auto require = [&](const char* token) {
    auto id = v.find(token);
    LP_CHECK(id.has_value(), vocab_json.string(), ": expected the special token ", token,
             " in the vocabulary");
    return *id;
  };
  const int64_t cls = require("<s>");
  const int64_t sep = require("</s>");
  AddedTokens added;
  for (const char* token : {"<s>", "<pad>", "</s>", "<unk>", "<mask>"}) {
    if (auto id = v.find(token)) added.add({token, *id});
  }
  std::optional<int64_t> pad = v.find("<pad>");
  TokenizerParts p = parts(std::move(model), add_prefix_space, std::move(added),
                           SpecialTokensTemplate::roberta(cls, sep), pad);
  p.bos_id = cls;
  p.eos_id = sep;
  return std::unique_ptr<ByteBpeTokenizer>(new ByteBpeTokenizer(std::move(p)));
}

}  // namespace lightpeft
