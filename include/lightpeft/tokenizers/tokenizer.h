#pragma once
// The tokenizer interface: text (or a text pair) -> input_ids, token_type_ids, attention_mask and
// offsets, and ids -> text, with the results HF tokenizers/transformers give for the same files.
// A tokenizer is HF's pipeline of parts (TokenizerParts); WordPieceTokenizer (BERT, wordpiece.h) and
// ByteBpeTokenizer (GPT-2/RoBERTa, byte_bpe.h) assemble the classic ones, load_hf_tokenizer_json any
// supported tokenizer.json (BERT, RoBERTa, GPT-2, LLaMA-2/3, Mistral, SmolLM2, Qwen2 ...).
//
// Pipeline of one text, as HF's: cut added tokens ([CLS], <|im_start|>, ...) out of the raw text,
// then per remaining piece normalize -> cut the added tokens matched on normalized text ->
// pre-tokenize -> model. encode() then truncates (reserving room for the special tokens), adds the
// special tokens and pads on the right.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/tokenizers/added_tokens.h"
#include "lightpeft/tokenizers/decoders.h"
#include "lightpeft/tokenizers/encoding.h"
#include "lightpeft/tokenizers/normalizers.h"
#include "lightpeft/tokenizers/post_processor.h"
#include "lightpeft/tokenizers/pre_tokenizers.h"
#include "lightpeft/tokenizers/tokenizer_model.h"
#include "lightpeft/tokenizers/vocab.h"

namespace lightpeft {

struct TokenizerParts {
  std::unique_ptr<Normalizer> normalizer;       // null: none
  std::unique_ptr<PreTokenizer> pre_tokenizer;  // null: each piece is one word
  std::unique_ptr<TokenizerModel> model;        // required
  std::unique_ptr<Decoder> decoder;             // null: token strings joined by spaces (HF's default)
  AddedTokens added;
  SpecialTokensTemplate post = SpecialTokensTemplate::none();
  std::optional<OffsetTrimming> trim_offsets;  // the post-processor's trim_offsets, when on
  std::optional<int64_t> pad_id, bos_id, eos_id;
  // transformers' decode-time clean_up_tokenization (tokenizer_config.json), skipped for BPE models.
  bool clean_up_tokenization_spaces = false;
};

class Tokenizer {
 public:
  // Throws lightpeft::Error without a model.
  explicit Tokenizer(TokenizerParts parts);
  virtual ~Tokenizer();

  // Ids of `text` alone: no special tokens added, no truncation.
  std::vector<int64_t> encode_plain(const std::string& text) const;
  // The same with the [begin, end) bytes of `text` each token stands for.
  EncodedText encode_text(const std::string& text) const;
  // `pair` may be null; an empty pair counts as none, as in transformers' tokenizer(text, "").
  // Throws lightpeft::Error when the truncation asked for is impossible (as HF does), and on
  // invalid UTF-8 (naming the byte).
  Encoding encode(const std::string& text, const std::string* pair = nullptr,
                  const EncodeOptions& options = {}) const;
  Encoding encode(const std::string& text, const std::string& pair,
                  const EncodeOptions& options = {}) const {
    return encode(text, &pair, options);
  }
  // Lays out texts already tokenized (encode_text) with the special tokens, as encode does after
  // truncating them: for callers that cut the texts themselves (question answering's windows over a
  // long context). No truncation, no padding; the second text's offsets stay relative to it.
  Encoding with_special_tokens(const EncodedText& first, const EncodedText* second) const;
  // HF trims offsets (ByteLevel / RobertaProcessing trim_offsets) per laid-out sequence, and with
  // add_prefix_space a sequence's first token keeps its one leading space. encode_text trims `text`
  // as one sequence; a caller laying out a piece of it that starts at token `index` (an overflowing
  // window) gets that token's offsets as HF trims them there. Other tokens, and tokenizers that
  // trim nothing, keep encode_text's offsets.
  TokenOffsets offsets_as_first(const std::string& text, const EncodedText& encoded, size_t index) const;
  // Where the second text's first token lands in with_special_tokens(first, &second) when the first
  // text has `first_length` tokens (BERT: first_length + 2, RoBERTa: first_length + 3).
  int64_t second_text_position(int64_t first_length) const;
  // `pairs` is null or as long as `texts` (an empty pair here is a real, empty second text, as in
  // transformers' batch call). Padding::longest pads to the longest in the batch.
  std::vector<Encoding> encode_batch(const std::vector<std::string>& texts,
                                     const std::vector<std::string>* pairs = nullptr,
                                     const EncodeOptions& options = {}) const;

  // Text of `ids`, as transformers' tokenizer.decode(ids, skip_special_tokens=...): the decoder
  // runs on the token strings; skip_special_tokens leaves out added tokens marked special. Throws
  // lightpeft::Error for an id no token has (HF silently drops it). Generation can decode the whole
  // sequence after each new token and take the new suffix: a byte-level token that ends inside a
  // UTF-8 character shows as U+FFFD until the rest of the character arrives.
  std::string decode(const std::vector<int64_t>& ids, bool skip_special_tokens = false) const;

  // Id used for padding; throws when the tokenizer has no padding token (see has_pad_id).
  int64_t pad_id() const;
  // Whether there is a padding token (decoder LLMs often have none).
  bool has_pad_id() const { return pad_id_.has_value(); }
  // Beginning / end of sequence ids: tokenizer_config.json's bos_token / eos_token when the file is
  // beside tokenizer.json (as transformers, a key it lacks means none), else the special token a
  // TemplateProcessing / RobertaProcessing post-processor puts before / after a single text (RoBERTa
  // files: <s> and </s>); nullopt when none is named.
  std::optional<int64_t> bos_id() const { return bos_id_; }
  std::optional<int64_t> eos_id() const { return eos_id_; }
  // Highest id of the model vocabulary and the added tokens + 1 (the embedding rows needed).
  int64_t vocab_size() const;
  std::optional<int64_t> token_to_id(const std::string& token) const;
  // The token string of `id` (an added token with `normalized` in its normalized form, as HF).
  // Throws lightpeft::Error for an id no token has.
  std::string id_to_token(int64_t id) const;
  // Special token ids added around one sequence (is_pair false) or a pair.
  int64_t num_special_tokens(bool is_pair) const { return post_.num_special_tokens(is_pair); }
  const AddedTokens& added_tokens() const { return added_; }
  const TokenizerModel& model() const { return *model_; }

 private:
  Encoding encode_one(const std::string& text, const std::string* pair,
                      const EncodeOptions& options) const;
  void pad(Encoding& encoding, size_t length) const;

  std::unique_ptr<Normalizer> normalizer_;
  std::unique_ptr<PreTokenizer> pre_tokenizer_;
  std::unique_ptr<TokenizerModel> model_;
  std::unique_ptr<Decoder> decoder_;
  AddedTokens added_;
  SpecialTokensTemplate post_;
  std::optional<OffsetTrimming> trim_offsets_;
  std::optional<int64_t> pad_id_, bos_id_, eos_id_;
  bool clean_up_tokenization_spaces_;
};

// Loads a tokenizer from a model directory or a file. In a directory: tokenizer.json if present (with
// the special tokens of a tokenizer_config.json beside it; see hf_tokenizer_json.h), else
// vocab.txt (WordPiece; do_lower_case, strip_accents, tokenize_chinese_chars from tokenizer_config.json
// when present, lower-casing by default), else vocab.json + merges.txt (byte-level BPE with RoBERTa's
// specials; add_prefix_space from tokenizer_config.json, default false). A file is read by its name:
// vocab.json or merges.txt as the BPE pair in its folder, other *.json as tokenizer.json, anything
// else as a WordPiece vocab.txt.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& model_dir_or_file);

}  // namespace lightpeft
