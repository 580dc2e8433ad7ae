#pragma once
// Text generation with a decoder's causal LM head, as HF's generate: a key/value cache, greedy or
// sampled decoding (temperature, then top-k, then top-p, with a seeded generator), stops at any EOS
// id or after max_new_tokens, batched with left padding (positions skip the padding, as HF's
// generate computes them). Token-level: text in and out goes through a tokenizer (generate_text).
#include <cstdint>
#include <string>
#include <vector>

#include "lightpeft/models/task_model.h"
#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

struct GenerationConfig {
  int64_t max_new_tokens = 64;
  bool do_sample = false;
  double temperature = 1.0;  // > 0; 1: unchanged
  int64_t top_k = 0;         // 0: off
  double top_p = 1.0;        // in (0, 1]; 1: off
  uint64_t seed = 0;         // sampling only
  std::vector<int64_t> eos_token_ids;  // empty: the model config's
  int64_t pad_token_id = -1;           // -1: the first EOS id (what HF falls back to)
};

// Throws lightpeft::Error naming the field for a value outside its range.
void validate_generation_config(const GenerationConfig& config);

struct GenerationResult {
  std::vector<std::vector<int64_t>> tokens;  // new tokens per prompt, EOS included when hit
  int64_t new_tokens = 0;                    // over the batch
  double seconds = 0.0;
};

// `model` must have a causal LM head. Prompts may differ in length (left-padded into one batch).
GenerationResult generate(TaskModelImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                          const GenerationConfig& config);

// Tokenizes prompts (with the tokenizer's special tokens), generates in batches of `batch_size`,
// decodes the new tokens (special tokens skipped).
std::vector<std::string> generate_text(TaskModelImpl& model, const Tokenizer& tokenizer,
                                       const std::vector<std::string>& prompts,
                                       const GenerationConfig& config, int64_t batch_size = 8);

}  // namespace lightpeft
