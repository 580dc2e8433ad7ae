#pragma once
// Decoders: token strings -> text (tokenizer.json's "decoder"), with HF tokenizers' semantics:
// ByteLevel, WordPiece, Metaspace, Replace (a literal pattern), ByteFallback, Fuse, Strip, BPEDecoder
// and Sequence. Each rewrites the list of token strings (HF's decode_chain); decode() then joins it.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "lightpeft/tokenizers/pre_tokenizers.h"

namespace lightpeft {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
  std::string decode(std::vector<std::string> tokens) const;
};

// Stand-in characters back to bytes (a token with any other character is kept as it is), then the
// bytes read as UTF-8 with every ill-formed sequence replaced by U+FFFD.
class ByteLevelDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override;
};

// Tokens after the first get a space unless they start with `prefix` (which is dropped); `cleanup`
// then removes the space before . ? ! , and English contractions, token by token.
class WordPieceDecoder : public Decoder {
 public:
  WordPieceDecoder(std::string prefix, bool cleanup) : prefix_(std::move(prefix)), cleanup_(cleanup) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  std::string prefix_;
  bool cleanup_;
};

// The replacement character back to ' ', except at the start of the first token unless the scheme
// is `never`.
class MetaspaceDecoder : public Decoder {
 public:
  MetaspaceDecoder(std::string replacement, PrependScheme scheme)
      : replacement_(std::move(replacement)), scheme_(scheme) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  std::string replacement_;
  PrependScheme scheme_;
};

// Every occurrence of a literal, non-empty `pattern` in each token replaced by `content`.
class ReplaceDecoder : public Decoder {
 public:
  ReplaceDecoder(std::string pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  std::string pattern_, content_;
};

// Runs of <0xNN> tokens back to the bytes they stand for: one string when they are valid UTF-8,
// else one U+FFFD per byte.
class ByteFallbackDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override;
};

// All tokens joined into one.
class FuseDecoder : public Decoder {
 public:
  void decode_chain(std::vector<std::string>& tokens) const override;
};

// Removes up to `start` leading and `stop` trailing `content` characters from each token.
class StripDecoder : public Decoder {
 public:
  StripDecoder(char32_t content, size_t start, size_t stop) : content_(content), start_(start), stop_(stop) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  char32_t content_;
  size_t start_, stop_;
};

// Classic BPE's end-of-word `suffix` -> ' ' (nothing after the last token).
class BpeDecoder : public Decoder {
 public:
  explicit BpeDecoder(std::string suffix) : suffix_(std::move(suffix)) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  std::string suffix_;
};

class SequenceDecoder : public Decoder {
 public:
  explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> members) : members_(std::move(members)) {}
  void decode_chain(std::vector<std::string>& tokens) const override;

 private:
  std::vector<std::unique_ptr<Decoder>> members_;
};

// `bytes` as UTF-8 with each maximal ill-formed subsequence replaced by U+FFFD (what Rust's
// String::from_utf8_lossy and Python's errors="replace" do).
std::string utf8_lossy(std::string_view bytes);
// transformers' clean_up_tokenization (" ." -> "." and the like) over a whole text.
std::string clean_up_tokenization(std::string text);

}  // namespace lightpeft
