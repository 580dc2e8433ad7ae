#include "lightpeft/tokenizers/tokenizer.h"

#include <algorithm>
#include <utility>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/truncation.h"

namespace lightpeft {

Tokenizer::Tokenizer(AddedTokens added, SpecialTokensTemplate post, std::optional<int64_t> pad_id)
    : added_(std::move(added)), post_(std::move(post)), pad_id_(pad_id) {}

Tokenizer::~Tokenizer() = default;

std::vector<int64_t> Tokenizer::encode_plain(const std::string& text) const {
  std::vector<int64_t> ids;
  // Added tokens matched in the raw text first; the rest is normalized, then searched again for the
  // added tokens that match normalized text, and what remains goes to the model.
  for (const TextPiece& raw : added_.split(text, /*normalized=*/false)) {
    if (raw.token_id) {
      ids.push_back(*raw.token_id);
      continue;
    }
    const std::string normalized = normalize(std::string(raw.text));
    if (!added_.has_normalized()) {
      if (!normalized.empty()) tokenize(normalized, ids);
      continue;
    }
    for (const TextPiece& piece : added_.split(normalized, /*normalized=*/true)) {
      if (piece.token_id) {
        ids.push_back(*piece.token_id);
      } else {
        tokenize(std::string(piece.text), ids);
      }
    }
  }
  return ids;
}

Encoding Tokenizer::encode(const std::string& text, const std::string* pair,
                           const EncodeOptions& options) const {
  // transformers' tokenizer(text, "") drops an empty second text (`if text_pair`); its batch call
  // keeps it, hence encode_batch goes straight to encode_one.
  if (pair != nullptr && pair->empty()) pair = nullptr;
  return encode_one(text, pair, options);
}

Encoding Tokenizer::encode_one(const std::string& text, const std::string* pair,
                               const EncodeOptions& options) const {
  std::vector<int64_t> first = encode_plain(text);
  std::optional<std::vector<int64_t>> second;
  if (pair != nullptr) second = encode_plain(*pair);

  if (options.truncation != Truncation::none) {
    // Room for the special tokens is reserved before the texts share the rest.
    const int64_t specials = options.add_special_tokens ? num_special_tokens(pair != nullptr) : 0;
    LP_CHECK(options.max_length >= specials, "max_length ", options.max_length,
             " leaves no room for the ", specials, " special tokens (expected max_length >= ",
             specials, ")");
    truncate_sequences(first, second ? &*second : nullptr, options.max_length - specials,
                       options.truncation);
  }
  Encoding encoding = post_.apply(first, second ? &*second : nullptr, options.add_special_tokens);
  if (options.padding == Padding::max_length) pad(encoding, static_cast<size_t>(options.max_length));
  return encoding;
}

std::vector<Encoding> Tokenizer::encode_batch(const std::vector<std::string>& texts,
                                              const std::vector<std::string>* pairs,
                                              const EncodeOptions& options) const {
  LP_CHECK(pairs == nullptr || pairs->size() == texts.size(), "encode_batch: expected as many pairs (",
           pairs ? pairs->size() : 0, ") as texts (", texts.size(), ")");
  std::vector<Encoding> out;
  out.reserve(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    out.push_back(encode_one(texts[i], pairs ? &(*pairs)[i] : nullptr, options));
  }
  if (options.padding == Padding::longest) {
    size_t longest = 0;
    for (const auto& e : out) longest = std::max(longest, e.input_ids.size());
    for (auto& e : out) pad(e, longest);
  }
  return out;
}

void Tokenizer::pad(Encoding& encoding, size_t length) const {
  if (encoding.input_ids.size() >= length) return;
  const int64_t id = pad_id();
  encoding.input_ids.resize(length, id);
  encoding.token_type_ids.resize(length, 0);
  encoding.attention_mask.resize(length, 0);
}

int64_t Tokenizer::pad_id() const {
  LP_CHECK(pad_id_.has_value(),
           "this tokenizer has no padding token (expected [PAD] or <pad> in its vocabulary)");
  return *pad_id_;
}

int64_t Tokenizer::vocab_size() const {
  int64_t size = model_vocab().id_bound();
  for (const auto& token : added_.tokens()) size = std::max(size, token.id + 1);
  return size;
}

std::optional<int64_t> Tokenizer::token_to_id(const std::string& token) const {
  if (auto id = added_.find(token)) return id;
  return model_vocab().find(token);
}

std::string Tokenizer::id_to_token(int64_t id) const {
  if (const std::string* token = added_.content(id)) return *token;
  if (const std::string* token = model_vocab().token(id)) return *token;
  throw_error("token id ", id, ": no token has this id (expected 0 <= id < ", vocab_size(), ")");
}

}  // namespace lightpeft
