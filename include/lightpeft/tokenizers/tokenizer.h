#pragma once
// The tokenizer interface: text (or a text pair) -> input_ids, token_type_ids, attention_mask, with
// the ids HF tokenizers/transformers produce for the same files. Implementations: WordPiece (BERT,
// wordpiece.h) and byte-level BPE (GPT-2/RoBERTa, byte_bpe.h); load_tokenizer picks one from files.
//
// Pipeline of encode_plain, as HF's: cut added tokens ([CLS], <mask>, ...) out of the raw text, then
// per remaining piece normalize -> pre-tokenize -> model. encode() then truncates (reserving room for
// the special tokens), adds the special tokens and pads on the right.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/tokenizers/added_tokens.h"
#include "lightpeft/tokenizers/encoding.h"
#include "lightpeft/tokenizers/post_processor.h"
#include "lightpeft/tokenizers/vocab.h"

namespace lightpeft {

class Tokenizer {
 public:
  virtual ~Tokenizer();

  // Ids of `text` alone: no special tokens added, no truncation.
  virtual std::vector<int64_t> encode_plain(const std::string& text) const;
  // `pair` may be null; an empty pair counts as none, as in transformers' tokenizer(text, "").
  // Throws lightpeft::Error when the truncation asked for is impossible (as HF does).
  Encoding encode(const std::string& text, const std::string* pair = nullptr,
                  const EncodeOptions& options = {}) const;
  Encoding encode(const std::string& text, const std::string& pair,
                  const EncodeOptions& options = {}) const {
    return encode(text, &pair, options);
  }
  // `pairs` is null or as long as `texts` (an empty pair here is a real, empty second text, as in
  // transformers' batch call). Padding::longest pads to the longest in the batch.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts,
                                     const std::vector<std::string>* pairs = nullptr,
                                     const EncodeOptions& options = {}) const;

  // Id used for padding; throws when the tokenizer has no padding token.
  int64_t pad_id() const;
  // Highest id of the model vocabulary and the added tokens + 1 (the embedding rows needed).
  int64_t vocab_size() const;
  std::optional<int64_t> token_to_id(const std::string& token) const;
  // Throws lightpeft::Error for an id no token has.
  std::string id_to_token(int64_t id) const;
  // Special token ids added around one sequence (is_pair false) or a pair.
  int64_t num_special_tokens(bool is_pair) const { return post_.num_special_tokens(is_pair); }
  const AddedTokens& added_tokens() const { return added_; }

 protected:
  Tokenizer(AddedTokens added, SpecialTokensTemplate post, std::optional<int64_t> pad_id);

  // The model's normalizer (identity when it has none).
  virtual std::string normalize(const std::string& text) const = 0;
  // Pre-tokenizes one normalized piece (never empty) and appends the model's ids.
  virtual void tokenize(const std::string& normalized, std::vector<int64_t>& ids) const = 0;
  virtual const Vocab& model_vocab() const = 0;
  // For constructors of tokenizers with a normalizer: see AddedTokens::normalize_patterns.
  void normalize_added_tokens(const std::function<std::string(const std::string&)>& normalize) {
    added_.normalize_patterns(normalize);
  }

 private:
  Encoding encode_one(const std::string& text, const std::string* pair,
                      const EncodeOptions& options) const;
  void pad(Encoding& encoding, size_t length) const;

  AddedTokens added_;
  SpecialTokensTemplate post_;
  std::optional<int64_t> pad_id_;
};

// Loads a tokenizer from a model directory or a file. In a directory: tokenizer.json if present, else
// vocab.txt (WordPiece; do_lower_case, strip_accents, tokenize_chinese_chars from tokenizer_config.json
// when present, lower-casing by default), else vocab.json + merges.txt (byte-level BPE with RoBERTa's
// specials; add_prefix_space from tokenizer_config.json, default false). A file is read by its name:
// vocab.json or merges.txt as the BPE pair in its folder, other *.json as tokenizer.json, anything
// else as a WordPiece vocab.txt.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir_or_file);

}  // namespace lightpeft
