#pragma once
// What lightpeft reads from transformers' tokenizer_config.json beside the vocabulary: special tokens
// (bos/eos/pad), decode-time clean-up, and the options of the classic BERT and RoBERTa files.
#include <filesystem>
#include <optional>
#include <string>

namespace lightpeft {

struct TokenizerConfig {
  std::optional<std::string> bos_token, eos_token, pad_token;  // unset: absent or null
  bool clean_up_tokenization_spaces = false;  // transformers 5's default
  std::optional<bool> do_lower_case, tokenize_chinese_chars, strip_accents, add_prefix_space;
};

// Token values may be strings or {"content": ...} objects. Throws lightpeft::Error naming the file
// and key for invalid JSON or a value of the wrong type.
TokenizerConfig read_tokenizer_config(const std::filesystem::path& path);

}  // namespace lightpeft
