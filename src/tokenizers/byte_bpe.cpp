#include "lightpeft/tokenizers/byte_bpe.h"

#include <utility>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/byte_level.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {

ByteBpeTokenizer::ByteBpeTokenizer(BpeModel model, bool add_prefix_space, AddedTokens added,
                                   SpecialTokensTemplate post, std::optional<int64_t> pad_id)
    : Tokenizer(std::move(added), std::move(post), pad_id),
      model_(std::move(model)),
      add_prefix_space_(add_prefix_space) {}

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
  return std::make_unique<ByteBpeTokenizer>(std::move(model), add_prefix_space, std::move(added),
                                            SpecialTokensTemplate::roberta(cls, sep), pad);
}

void ByteBpeTokenizer::tokenize(const std::string& normalized, std::vector<int64_t>& ids) const {
  // HF adds the prefix space per piece between added tokens, not once per text.
  const std::string text =
      add_prefix_space_ && normalized.front() != ' ' ? " " + normalized : normalized;
  const std::u32string chars = unicode::decode_utf8(text);
  for (const auto& [begin, end] : byte_level::split_gpt2(chars)) {
    const std::string word = unicode::encode_utf8(std::u32string_view(chars).substr(begin, end - begin));
    model_.tokenize_word(byte_level::bytes_to_unicode(word), ids);
  }
}

}  // namespace lightpeft
