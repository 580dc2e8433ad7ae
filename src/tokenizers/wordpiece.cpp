#include "lightpeft/tokenizers/wordpiece.h"

#include <utility>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {

WordPieceModel::WordPieceModel(Vocab vocab, std::string unk_token,
                               std::string continuing_subword_prefix,
                               int64_t max_input_chars_per_word)
    : vocab_(std::move(vocab)),
      prefix_(std::move(continuing_subword_prefix)),
      max_chars_(max_input_chars_per_word) {
  auto unk = vocab_.find(unk_token);
  LP_CHECK(unk.has_value(), "WordPiece: unk_token '", unk_token,
           "' is not in the vocabulary (expected the vocabulary to contain it)");
  unk_id_ = *unk;
}

void WordPieceModel::tokenize_word(const std::string& word, std::vector<int64_t>& ids) const {
  const std::u32string chars = unicode::decode_utf8(word);
  if (static_cast<int64_t>(chars.size()) > max_chars_) {
    ids.push_back(unk_id_);
    return;
  }
  // Byte offset of each character boundary, so candidates shrink one character at a time.
  std::vector<size_t> offsets{0};
  for (char32_t cp : chars) {
    std::string utf8;
    unicode::append_utf8(utf8, cp);
    offsets.push_back(offsets.back() + utf8.size());
  }
  std::vector<int64_t> pieces;
  size_t start = 0;  // index into offsets
  while (start + 1 < offsets.size()) {
    std::optional<int64_t> found;
    size_t end = offsets.size() - 1;
    for (; end > start; --end) {
      std::string candidate = word.substr(offsets[start], offsets[end] - offsets[start]);
      if (start > 0) candidate = prefix_ + candidate;
      if ((found = vocab_.find(candidate))) break;
    }
    if (!found) {  // one unmatchable part makes the whole word unknown
      ids.push_back(unk_id_);
      return;
    }
    pieces.push_back(*found);
    start = end;
  }
  ids.insert(ids.end(), pieces.begin(), pieces.end());
}

WordPieceTokenizer::WordPieceTokenizer(WordPieceModel model,
                                       std::optional<BertNormalizerOptions> normalizer,
                                       AddedTokens added, SpecialTokensTemplate post,
                                       std::optional<int64_t> pad_id)
    : Tokenizer(std::move(added), std::move(post), pad_id),
      model_(std::move(model)),
      normalizer_(std::move(normalizer)) {
  if (normalizer_ && added_tokens().has_normalized()) {
    normalize_added_tokens([this](const std::string& text) { return normalize(text); });
  }
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::from_vocab_txt(
    const std::filesystem::path& vocab_txt, const BertNormalizerOptions& options) {
  Vocab vocab = read_vocab_txt(vocab_txt);
  auto require = [&](const char* token) {
    auto id = vocab.find(token);
    LP_CHECK(id.has_value(), vocab_txt.string(), ": expected the special token ", token,
             " in the vocabulary");
    return *id;
  };
  const int64_t cls = require("[CLS]");
  const int64_t sep = require("[SEP]");
  AddedTokens added;
  for (const char* token : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
    if (auto id = vocab.find(token)) added.add({token, *id});
  }
  std::optional<int64_t> pad = vocab.find("[PAD]");
  return std::make_unique<WordPieceTokenizer>(WordPieceModel(std::move(vocab)), options,
                                              std::move(added),
                                              SpecialTokensTemplate::bert(cls, sep), pad);
}

std::string WordPieceTokenizer::normalize(const std::string& text) const {
  return normalizer_ ? bert_normalize(text, *normalizer_) : text;
}

void WordPieceTokenizer::tokenize(const std::string& normalized, std::vector<int64_t>& ids) const {
  for (const std::string& word : bert_pre_tokenize(normalized)) model_.tokenize_word(word, ids);
}

}  // namespace lightpeft
