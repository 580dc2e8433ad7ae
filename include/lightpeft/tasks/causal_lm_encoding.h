#pragma once
// How instruction rows become token sequences for a causal LM (tasks/causal_lm_task.h, the
// commonsense tasks), as TRL-style SFT does it: each turn's prompt and response are tokenized apart
// (so the labels mark exactly the response's tokens) and concatenated:
//
//   ids    = lead + prompt_1 + response_1 [+ EOS] + prompt_2 + response_2 [+ EOS] ...
//   labels = -100 on lead and prompts, the ids themselves on responses (and their EOS)
//
// - lead: the tokenizer's own leading special tokens (what encode() puts before a text: LLaMA-2's
//   <s>; nothing for SmolLM2 or GPT-2), left out when the first prompt already starts with them (a
//   chat template that writes the BOS itself never gets a second one).
// - EOS: appended to a response unless its text, trailing whitespace aside, already ends with the
//   EOS token (chat templates write the end-of-turn token); Alpaca and custom responses get one, as
//   LLM-Adapters' finetune.py appends it. No EOS where the tokenizer has none.
// - Truncation to max_length keeps the last response: the sequence loses tokens from its start
//   (after the lead); when the last response (with its EOS) alone does not fit beside the lead, it is
//   kept from its beginning, cut at its end, with nothing before it but the lead.
#include <cstdint>
#include <string>
#include <vector>

#include "lightpeft/data/example.h"
#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

// The special tokens the tokenizer adds before a single text (its post-processor's, e.g. <s>).
std::vector<int64_t> leading_special_tokens(const Tokenizer& tokenizer);

struct LmSequence {
  std::vector<int64_t> ids;
  std::vector<int64_t> labels;         // as long as ids
  std::vector<int64_t> prompt;         // the ids before the last response (what generation starts from), cut to max_length from the left, lead kept
  bool truncated = false;              // tokens were dropped from the start
  bool response_cut = false;           // the last response itself was cut
};

// Throws lightpeft::Error for no turns or max_length < 2 (lead + one token).
LmSequence encode_turns(const Tokenizer& tokenizer, const std::vector<PromptResponse>& turns, int64_t max_length);

}  // namespace lightpeft
