#pragma once
// Added (mostly special) tokens such as [CLS], <mask> or <|im_start|>: they are cut out of the raw
// text before the model sees it, exactly where HF's AddedVocabulary finds them (leftmost, then
// longest match; a single_word token skipped where it touches a word).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lightpeft {

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool special = true;
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = false;   // matched in the normalized text rather than the raw text
  bool single_word = false;  // only matched with no word character (\w) right before or after it
};

// A run of text for the model, or an added token (token_id set).
struct TextPiece {
  std::string_view text;
  std::optional<int64_t> token_id;
};

class AddedTokens {
 public:
  void add(AddedToken token);
  // Splits `text` on the tokens whose `normalized` flag equals `normalized`; plain-text pieces are
  // never empty. The views point into `text`.
  std::vector<TextPiece> split(std::string_view text, bool normalized) const;
  bool has_normalized() const { return has_normalized_; }
  // HF matches `normalized` tokens by their normalized form ("NewWord" as "newword" under a
  // lower-casing normalizer): the tokenizer hands its normalizer in once it is built.
  void normalize_patterns(const std::function<std::string(const std::string&)>& normalize);
  std::optional<int64_t> find(const std::string& content) const;
  const std::string* content(int64_t id) const;
  const AddedToken* token(int64_t id) const;
  // What HF's id_to_token and decode give for the token: its content, or for a `normalized` one
  // its normalized form.
  const std::string* token_string(int64_t id) const;
  // Whether `token` is the content of an added token marked special (what decode skips).
  bool is_special_content(const std::string& token) const;
  const std::vector<AddedToken>& tokens() const { return tokens_; }

 private:
  // The longest token of the set matching at text[pos], or nullptr.
  const AddedToken* longest_match(std::string_view text, size_t pos, bool normalized) const;
  void rebuild_index();

  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;  // what is matched: content, or its normalized form
  std::unordered_map<std::string, size_t> by_content_;
  std::unordered_map<int64_t, size_t> by_id_;
  // Token indices by first byte, longest first, so a scan tries few candidates per position.
  std::vector<std::vector<size_t>> by_first_byte_ = std::vector<std::vector<size_t>>(256);
  bool has_normalized_ = false;
};

}  // namespace lightpeft
