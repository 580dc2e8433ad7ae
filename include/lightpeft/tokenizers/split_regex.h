#pragma once
// The word-splitting regular expressions of byte-level BPE tokenizers (GPT-2's, LLaMA-3's, Qwen2's),
// as hand-written scanners with Oniguruma's semantics (what HF tokenizers runs). std::regex has
// neither \p{..} classes nor these semantics, so a pattern is recognised by its exact text and any
// other one is refused by the caller.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lightpeft {

class SplitRegex {
 public:
  // GPT-2 (also ByteLevel's built-in regex):
  //   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  static SplitRegex gpt2();
  // The scanner for `pattern`, or nullopt when it is not one of the known patterns.
  static std::optional<SplitRegex> recognise(std::string_view pattern);
  // The known patterns, one per line, for error messages.
  static std::string known_patterns();

  // [begin, end) byte ranges of the successive non-overlapping matches in `text` (valid UTF-8), as
  // Oniguruma's search from left to right finds them.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  // The same on code points: [begin, end) indices into `text`.
  std::vector<std::pair<size_t, size_t>> find_all(const std::u32string& text) const;

 private:
  enum class Kind { gpt2, llama3 };
  SplitRegex(Kind kind, size_t max_digits) : kind_(kind), max_digits_(max_digits) {}
  // Length of the match at text[i] (every character starts one with these patterns).
  size_t match_at(const std::u32string& text, size_t i) const;

  Kind kind_;
  size_t max_digits_;  // LLaMA-3: \p{N}{1,3}; Qwen2: \p{N}
};

}  // namespace lightpeft
