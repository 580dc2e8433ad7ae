#include "lightpeft/tokenizers/wordpiece.h"

#include <utility>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/decoders.h"
#include "lightpeft/tokenizers/normalizers.h"
#include "lightpeft/tokenizers/pre_tokenizers.h"
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
  std::vector<ModelToken> tokens;
  tokenize(word, tokens);
  for (const ModelToken& t : tokens) ids.push_back(t.id);
}

void WordPieceModel::tokenize(std::string_view word, std::vector<ModelToken>& tokens) const {
  const ModelToken unknown{unk_id_, 0, static_cast<uint32_t>(word.size())};
  // Byte offset of each character boundary, so candidates shrink one character at a time.
  std::vector<size_t> offsets{0};
  for (size_t pos = 0; pos < word.size();) {
    size_t length = 0;
    unicode::code_point_at(word, pos, &length);
    pos += length;
    offsets.push_back(pos);
  }
  if (static_cast<int64_t>(offsets.size() - 1) > max_chars_) {
    tokens.push_back(unknown);
    return;
  }
  std::vector<ModelToken> pieces;
  std::string candidate;
  size_t start = 0;  // index into offsets
  while (start + 1 < offsets.size()) {
    std::optional<int64_t> found;
    size_t end = offsets.size() - 1;
    for (; end > start; --end) {
      candidate.clear();
      if (start > 0) candidate = prefix_;
      candidate.append(word.substr(offsets[start], offsets[end] - offsets[start]));
      if ((found = vocab_.find(candidate))) break;
    }
    if (!found) {  // one unmatchable part makes the whole word unknown
      tokens.push_back(unknown);
      return;
    }
    pieces.push_back({*found, static_cast<uint32_t>(offsets[start]), static_cast<uint32_t>(offsets[end])});
    start = end;
  }
  tokens.insert(tokens.end(), pieces.begin(), pieces.end());
}

WordPieceTokenizer::WordPieceTokenizer(WordPieceModel model,
                                       std::optional<BertNormalizerOptions> normalizer,
                                       AddedTokens added, SpecialTokensTemplate post,
                                       std::optional<int64_t> pad_id)
    : Tokenizer([&] {
        TokenizerParts parts;
        if (normalizer) parts.normalizer = std::make_unique<BertNormalizer>(*normalizer);
        parts.pre_tokenizer = std::make_unique<BertPreTokenizer>();
        parts.model = std::make_unique<WordPieceModel>(std::move(model));
        parts.decoder = std::make_unique<WordPieceDecoder>("##", true);
        parts.added = std::move(added);
        parts.post = std::move(post);
        parts.pad_id = pad_id;
        return parts;
      }()) {}

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

}  // namespace lightpeft
