#pragma once
// Token <-> id table of a tokenizer model, and readers for the files vocabularies ship in.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace lightpeft {

class Vocab {
 public:
  // Maps token to id; a token set twice keeps the later id, as HF's dict-based loaders do.
  void set(const std::string& token, int64_t id);
  std::optional<int64_t> find(const std::string& token) const;
  // The token with this id, or nullptr when no token has it.
  const std::string* token(int64_t id) const;
  // Highest id + 1 (0 when empty).
  int64_t id_bound() const { return static_cast<int64_t>(tokens_.size()); }
  int64_t size() const { return static_cast<int64_t>(ids_.size()); }

 private:
  std::unordered_map<std::string, int64_t> ids_;
  std::vector<std::string> tokens_;
  std::vector<bool> has_token_;
};

// BERT vocab.txt: one token per line, id = line number (only the '\n' is stripped, as HF does).
Vocab read_vocab_txt(const std::filesystem::path& path);
// GPT-2/RoBERTa vocab.json: an object {token: id}.
Vocab read_vocab_json(const std::filesystem::path& path);

}  // namespace lightpeft
