#pragma once
// Normalizers: what tokenizer.json's "normalizer" does to each piece of raw text (between added
// tokens) before pre-tokenization, with HF tokenizers' semantics and alignments: BertNormalizer,
// Sequence, Prepend, Replace (a literal pattern), Lowercase, Strip, StripAccents, NFC and NFD.
#include <memory>
#include <string>
#include <vector>

#include "lightpeft/tokenizers/basic_tokenizer.h"
#include "lightpeft/tokenizers/normalized_text.h"

namespace lightpeft {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedText& text) const = 0;
  // `text` (valid UTF-8) normalized, e.g. an added token's content matched in normalized text.
  std::string normalize_string(const std::string& text) const;
};

class BertNormalizer : public Normalizer {
 public:
  explicit BertNormalizer(BertNormalizerOptions options) : options_(options) {}
  void normalize(NormalizedText& text) const override { bert_normalize(text, options_); }

 private:
  BertNormalizerOptions options_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> normalizers)
      : normalizers_(std::move(normalizers)) {}
  void normalize(NormalizedText& text) const override;

 private:
  std::vector<std::unique_ptr<Normalizer>> normalizers_;
};

// Puts `prefix` before a non-empty text (LLaMA-2's "▁").
class PrependNormalizer : public Normalizer {
 public:
  explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
  void normalize(NormalizedText& text) const override { text.prepend(prefix_); }

 private:
  std::string prefix_;
};

// Replaces every occurrence of a literal, non-empty `pattern` (LLaMA-2's " " -> "▁").
class ReplaceNormalizer : public Normalizer {
 public:
  ReplaceNormalizer(std::string pattern, std::string content)
      : pattern_(std::move(pattern)), content_(std::move(content)) {}
  void normalize(NormalizedText& text) const override { text.replace(pattern_, content_); }

 private:
  std::string pattern_, content_;
};

class LowercaseNormalizer : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override { text.lowercase(); }
};

class StripNormalizer : public Normalizer {
 public:
  StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
  void normalize(NormalizedText& text) const override { text.strip(left_, right_); }

 private:
  bool left_, right_;
};

// Drops combining marks (M*).
class StripAccentsNormalizer : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override;
};

class NfcNormalizer : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override { text.nfc(); }
};

class NfdNormalizer : public Normalizer {
 public:
  void normalize(NormalizedText& text) const override { text.nfd(); }
};

}  // namespace lightpeft
