#include "lightpeft/tokenizers/tokenizer.h"

#include <algorithm>
#include <utility>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/truncation.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {
namespace {

constexpr char32_t kByteLevelSpace = 0x120;  // "Ġ", GPT-2's stand-in for ' '

bool is_trimmed_space(char32_t cp) { return cp == kByteLevelSpace || unicode::is_whitespace(cp); }

// Moves `offset` (a byte offset into `text`) by `count` characters forward (or back, count < 0).
int64_t step_chars(const std::string& text, int64_t offset, int64_t count) {
  auto pos = static_cast<size_t>(offset);
  for (; count > 0 && pos < text.size(); --count) {
    size_t length = 0;
    unicode::code_point_at(text, pos, &length);
    pos += length;
  }
  for (; count < 0 && pos > 0; ++count) {
    --pos;
    while (pos > 0 && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) --pos;
  }
  return static_cast<int64_t>(pos);
}

// Number of characters in text[0, offset).
int64_t chars_before(const std::string& text, int64_t offset) {
  int64_t n = 0;
  for (int64_t i = 0; i < offset; ++i) n += (static_cast<unsigned char>(text[static_cast<size_t>(i)]) & 0xC0) != 0x80;
  return n;
}

// HF's process_offsets (ByteLevel / RobertaProcessing trim_offsets) on one token whose string is
// `value`. HF counts in characters of the input (what Python's offsets are); the same number of
// characters is stepped over here in bytes.
void trim_offsets(TokenOffsets& offsets, const std::string& value, bool first_token,
                  const OffsetTrimming& options, const std::string& text) {
  const std::u32string chars = unicode::decode_utf8(value);
  int64_t leading = 0, trailing = 0;
  while (leading < static_cast<int64_t>(chars.size()) && is_trimmed_space(chars[static_cast<size_t>(leading)])) ++leading;
  while (trailing < static_cast<int64_t>(chars.size()) &&
         is_trimmed_space(chars[chars.size() - 1 - static_cast<size_t>(trailing)])) {
    ++trailing;
  }
  if (leading == 0 && trailing == 0) return;
  if (leading > 0) {
    const bool is_first = first_token || offsets.first == 0;
    // The one space add_prefix_space put before the first word is not trimmed (HF keeps it).
    if (!(is_first && options.add_prefix_space && leading == 1)) {
      offsets.first = std::min(step_chars(text, offsets.first, leading), offsets.second);
    }
  }
  if (trailing > 0 && chars_before(text, offsets.second) >= trailing) {
    offsets.second = std::max(step_chars(text, offsets.second, -trailing), offsets.first);
  }
}

}  // namespace

Tokenizer::Tokenizer(TokenizerParts parts)
    : normalizer_(std::move(parts.normalizer)),
      pre_tokenizer_(std::move(parts.pre_tokenizer)),
      model_(std::move(parts.model)),
      decoder_(std::move(parts.decoder)),
      added_(std::move(parts.added)),
      post_(std::move(parts.post)),
      trim_offsets_(parts.trim_offsets),
      pad_id_(parts.pad_id),
      bos_id_(parts.bos_id),
      eos_id_(parts.eos_id),
      clean_up_tokenization_spaces_(parts.clean_up_tokenization_spaces) {
  LP_CHECK(model_ != nullptr, "Tokenizer: expected a model (internal error)");
  // HF matches `normalized` added tokens by their normalized form ("NewWord" as "newword" under a
  // lower-casing normalizer).
  if (normalizer_ && added_.has_normalized()) {
    added_.normalize_patterns([this](const std::string& s) { return normalizer_->normalize_string(s); });
  }
}

Tokenizer::~Tokenizer() = default;

std::vector<int64_t> Tokenizer::encode_plain(const std::string& text) const {
  return encode_text(text).ids;
}

EncodedText Tokenizer::encode_text(const std::string& text) const {
  unicode::validate_utf8(text);
  EncodedText out;
  if (text.empty()) return out;
  const NormalizedText whole(text);

  auto push = [&](int64_t id, Span span, const std::string* value) {
    TokenOffsets offsets{span.begin, span.end};
    if (trim_offsets_ && value != nullptr) {
      trim_offsets(offsets, *value, out.ids.empty(), *trim_offsets_, text);
    }
    out.ids.push_back(id);
    out.offsets.push_back(offsets);
  };
  std::vector<NormalizedText> words;
  std::vector<ModelToken> tokens;
  auto run_model = [&](NormalizedText piece) {
    if (piece.empty()) return;
    words.clear();
    words.push_back(std::move(piece));
    if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(words);
    for (const NormalizedText& word : words) {
      tokens.clear();
      model_->tokenize(word.text(), tokens);
      for (const ModelToken& t : tokens) {
        push(t.id, word.original_span(t.begin, t.end), model_->vocab().token(t.id));
      }
    }
  };

  // Added tokens matched in the raw text first; the rest is normalized, then searched again for the
  // added tokens that match normalized text, and what remains goes to the model.
  for (const TextPiece& raw : added_.split(text, /*normalized=*/false)) {
    const auto begin = static_cast<size_t>(raw.text.data() - text.data());
    const size_t end = begin + raw.text.size();
    if (raw.token_id) {
      const std::string value(raw.text);
      push(*raw.token_id, whole.original_span(begin, end), &value);
      continue;
    }
    NormalizedText piece = whole.slice(begin, end);
    if (normalizer_) normalizer_->normalize(piece);
    if (!added_.has_normalized()) {
      run_model(std::move(piece));
      continue;
    }
    const std::string& normalized = piece.text();
    for (const TextPiece& part : added_.split(normalized, /*normalized=*/true)) {
      const auto part_begin = static_cast<size_t>(part.text.data() - normalized.data());
      const size_t part_end = part_begin + part.text.size();
      if (part.token_id) {
        const std::string value(part.text);
        push(*part.token_id, piece.original_span(part_begin, part_end), &value);
      } else {
        run_model(piece.slice(part_begin, part_end));
      }
    }
  }
  return out;
}

Encoding Tokenizer::encode(const std::string& text, const std::string* pair,
                           const EncodeOptions& options) const {
  // transformers' tokenizer(text, "") drops an empty second text (`if text_pair`); its batch call
  // keeps it, hence encode_batch goes straight to encode_one.
  if (pair != nullptr && pair->empty()) pair = nullptr;
  return encode_one(text, pair, options);
}

Encoding Tokenizer::with_special_tokens(const EncodedText& first, const EncodedText* second) const {
  return post_.apply(first, second, /*add_special_tokens=*/true);
}

TokenOffsets Tokenizer::offsets_as_first(const std::string& text, const EncodedText& encoded, size_t index) const {
  TokenOffsets o = encoded.offsets.at(index);
  if (index == 0 || !trim_offsets_ || !trim_offsets_->add_prefix_space || o.first == 0) return o;
  const std::u32string chars = unicode::decode_utf8(id_to_token(encoded.ids.at(index)));
  size_t leading = 0;
  while (leading < chars.size() && is_trimmed_space(chars[leading])) ++leading;
  if (leading != 1) return o;
  // encode_text stepped over that one space (trim_offsets above); HF's first token keeps it. A
  // token that is that space alone ends where it starts either way.
  o.first = step_chars(text, o.first, -1);
  if (chars.size() == 1) o.second = o.first;
  return o;
}

int64_t Tokenizer::second_text_position(int64_t first_length) const {
  int64_t position = 0;
  for (const auto& piece : post_.pair) {
    if (piece.kind == TemplatePiece::Kind::second) return position;
    position += piece.kind == TemplatePiece::Kind::first ? first_length : static_cast<int64_t>(piece.ids.size());
  }
  return position;  // a template without the second text (none): it would follow everything
}

Encoding Tokenizer::encode_one(const std::string& text, const std::string* pair,
                               const EncodeOptions& options) const {
  // Padding asked of a tokenizer without a padding token fails whether or not it would pad, as in
  // transformers.
  if (options.padding != Padding::none) pad_id();
  EncodedText first = encode_text(text);
  std::optional<EncodedText> second;
  if (pair != nullptr) second = encode_text(*pair);

  if (options.truncation != Truncation::none) {
    // Room for the special tokens is reserved before the texts share the rest.
    const int64_t specials = options.add_special_tokens ? num_special_tokens(pair != nullptr) : 0;
    LP_CHECK(options.max_length >= specials, "max_length ", options.max_length,
             " leaves no room for the ", specials, " special tokens (expected max_length >= ",
             specials, ")");
    truncate_sequences(first.ids, second ? &second->ids : nullptr, options.max_length - specials,
                       options.truncation);
    first.offsets.resize(first.ids.size());
    if (second) second->offsets.resize(second->ids.size());
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

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skip_special_tokens) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int64_t id : ids) {
    const std::string* token = added_.token_string(id);
    if (token == nullptr) token = model_->vocab().token(id);
    LP_CHECK(token != nullptr, "decode: token id ", id, " has no token (expected 0 <= id < ",
             vocab_size(), " and an id of the vocabulary or an added token)");
    if (skip_special_tokens && added_.is_special_content(*token)) continue;
    tokens.push_back(*token);
  }
  std::string text;
  if (decoder_) {
    text = decoder_->decode(std::move(tokens));
  } else {
    for (size_t i = 0; i < tokens.size(); ++i) text += (i ? " " : "") + tokens[i];
  }
  if (clean_up_tokenization_spaces_ && !model_->is_bpe()) text = clean_up_tokenization(std::move(text));
  return text;
}

void Tokenizer::pad(Encoding& encoding, size_t length) const {
  if (encoding.input_ids.size() >= length) return;
  const int64_t id = pad_id();
  encoding.input_ids.resize(length, id);
  encoding.token_type_ids.resize(length, 0);
  encoding.attention_mask.resize(length, 0);
  encoding.offsets.resize(length, TokenOffsets{0, 0});
}

int64_t Tokenizer::pad_id() const {
  LP_CHECK(pad_id_.has_value(),
           "this tokenizer has no padding token (expected [PAD] or <pad> in its vocabulary, a ",
           "padding section in tokenizer.json or pad_token in tokenizer_config.json)");
  return *pad_id_;
}

int64_t Tokenizer::vocab_size() const {
  int64_t size = model_->vocab().id_bound();
  for (const auto& token : added_.tokens()) size = std::max(size, token.id + 1);
  return size;
}

std::optional<int64_t> Tokenizer::token_to_id(const std::string& token) const {
  if (auto id = added_.find(token)) return id;
  return model_->vocab().find(token);
}

std::string Tokenizer::id_to_token(int64_t id) const {
  if (const std::string* token = added_.token_string(id)) return *token;
  if (const std::string* token = model_->vocab().token(id)) return *token;
  throw_error("token id ", id, ": no token has this id (expected 0 <= id < ", vocab_size(), ")");
}

}  // namespace lightpeft
