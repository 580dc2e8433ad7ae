#pragma once
// The BPE model: applies ranked merges to the characters of one word, lowest rank first and, among
// equal ranks, leftmost first (HF tokenizers' Word::merge_all), with a cache of words seen before.
// Characters missing from the vocabulary become their <0xNN> byte tokens (byte_fallback, as
// SentencePiece BPE models), else the unk token (fused runs with fuse_unk), else are dropped.
#include <array>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "lightpeft/tokenizers/tokenizer_model.h"
#include "lightpeft/tokenizers/vocab.h"

namespace lightpeft {

struct BpeMerge {
  std::string left, right;
  int64_t line = 0;  // where it was read, for error messages (a file line or a JSON index)
};

struct BpeOptions {
  std::optional<std::string> unk_token;  // unset: characters missing from the vocab are dropped
  bool fuse_unk = false;                 // consecutive unknown characters give one unk id
  bool ignore_merges = false;            // a word found whole in the vocab skips the merges
  bool byte_fallback = false;            // unknown characters -> <0xNN> tokens when all are there
};

class BpeModel : public TokenizerModel {
 public:
  // `source` names the merges' origin in errors, e.g. "merges.txt line" or "tokenizer.json
  // model.merges index". Throws lightpeft::Error for a merge whose parts or result are not in vocab.
  BpeModel(Vocab vocab, const std::vector<BpeMerge>& merges, const std::string& source,
           BpeOptions options = {});
  BpeModel(BpeModel&& other) noexcept;

  // Appends the ids of one word (already in byte-level characters for byte-level BPE).
  void tokenize_word(const std::string& word, std::vector<int64_t>& ids) const;
  void tokenize(std::string_view word, std::vector<ModelToken>& tokens) const override;
  const Vocab& vocab() const override { return vocab_; }
  bool is_bpe() const override { return true; }

 private:
  struct MergeTarget {
    int64_t rank;
    int64_t new_id;
  };
  static uint64_t pair_key(int64_t left, int64_t right) {
    return (static_cast<uint64_t>(left) << 32) | static_cast<uint64_t>(right);
  }
  std::vector<ModelToken> merge_word(std::string_view word) const;

  Vocab vocab_;
  BpeOptions options_;
  std::optional<int64_t> unk_id_;
  std::array<int64_t, 256> byte_ids_{};  // id of <0xNN>, -1 when absent (byte_fallback)
  std::unordered_map<uint64_t, MergeTarget> merges_;
  // Results for words seen before; bounded like HF's (10000 entries of under 256 bytes), guarded
  // for concurrent encodes.
  mutable std::unordered_map<std::string, std::vector<ModelToken>> cache_;
  mutable std::mutex cache_mutex_;
};

// merges.txt: "left right" per line; a first line starting with "#version" and empty lines are
// skipped. Throws lightpeft::Error naming the file and line of a malformed line.
std::vector<BpeMerge> read_merges_txt(const std::filesystem::path& path);

}  // namespace lightpeft
