// Instruction rows as causal-LM token sequences (tasks/causal_lm_encoding.h).
#include "lightpeft/tasks/causal_lm_encoding.h"

#include <algorithm>

#include "lightpeft/core/error.h"

namespace lightpeft {
namespace {

constexpr int64_t kIgnore = -100;

bool starts_with(const std::vector<int64_t>& ids, const std::vector<int64_t>& prefix) {
  return ids.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), ids.begin());
}

// Whether the response text, trailing whitespace aside, ends with the EOS token's text.
bool ends_with_token(const std::string& text, const std::string& token) {
  size_t end = text.size();
  while (end > 0 && (text[end - 1] == ' ' || text[end - 1] == '\n' || text[end - 1] == '\t' || text[end - 1] == '\r'))
    --end;
  return !token.empty() && end >= token.size() && text.compare(end - token.size(), token.size(), token) == 0;
}

// The first `lead` tokens of `v`, then v[tail_begin, tail_end).
std::vector<int64_t> lead_and_tail(const std::vector<int64_t>& v, size_t lead, size_t tail_begin, size_t tail_end) {
  std::vector<int64_t> out(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(lead));
  out.insert(out.end(), v.begin() + static_cast<std::ptrdiff_t>(tail_begin), v.begin() + static_cast<std::ptrdiff_t>(tail_end));
  return out;
}

}  // namespace

std::vector<int64_t> leading_special_tokens(const Tokenizer& tokenizer) {
  // Any text shows them: encode() = specials + the text's own ids (+ trailing specials).
  const std::string probe = "a";
  EncodeOptions options;
  options.truncation = Truncation::none;
  const std::vector<int64_t> with = tokenizer.encode(probe, nullptr, options).input_ids;
  const std::vector<int64_t> plain = tokenizer.encode_plain(probe);
  const auto at = std::search(with.begin(), with.end(), plain.begin(), plain.end());
  LP_CHECK(at != with.end(), "tokenizer: encode(\"a\") does not hold the plain ids of \"a\"");
  return std::vector<int64_t>(with.begin(), at);
}

LmSequence encode_turns(const Tokenizer& tokenizer, const std::vector<PromptResponse>& turns, int64_t max_length) {
  LP_CHECK(!turns.empty(), "causal LM encoding: a row without any (prompt, response) turn");
  LP_CHECK(max_length >= 2, "causal LM encoding: max_length must be >= 2, got ", max_length);
  const std::vector<int64_t> lead_ids = leading_special_tokens(tokenizer);
  LP_CHECK(static_cast<int64_t>(lead_ids.size()) < max_length, "causal LM encoding: max_length ", max_length,
           " leaves no room beside the tokenizer's ", lead_ids.size(), " leading special tokens");
  const std::optional<int64_t> eos = tokenizer.eos_id();
  const std::string eos_text = eos ? tokenizer.id_to_token(*eos) : std::string();

  LmSequence s;
  size_t lead = 0, last_response = 0;
  for (size_t k = 0; k < turns.size(); ++k) {
    const std::vector<int64_t> prompt = tokenizer.encode_plain(turns[k].prompt);
    if (k == 0 && !starts_with(prompt, lead_ids)) {
      s.ids = lead_ids;
      lead = lead_ids.size();
    }
    s.ids.insert(s.ids.end(), prompt.begin(), prompt.end());
    std::vector<int64_t> response = tokenizer.encode_plain(turns[k].response);
    if (eos && !ends_with_token(turns[k].response, eos_text)) response.push_back(*eos);
    last_response = s.ids.size();
    s.ids.insert(s.ids.end(), response.begin(), response.end());
    s.labels.resize(last_response, kIgnore);  // lead and prompt
    s.labels.insert(s.labels.end(), response.begin(), response.end());
  }
  const auto max = static_cast<size_t>(max_length);
  s.prompt = std::vector<int64_t>(s.ids.begin(), s.ids.begin() + static_cast<std::ptrdiff_t>(last_response));
  if (s.prompt.size() > max) s.prompt = lead_and_tail(s.prompt, lead, s.prompt.size() - (max - lead), s.prompt.size());
  if (s.ids.size() <= max) return s;
  const size_t response_len = s.ids.size() - last_response;
  if (response_len <= max - lead) {
    const size_t drop = s.ids.size() - max;
    s.ids = lead_and_tail(s.ids, lead, lead + drop, s.ids.size());
    s.labels = lead_and_tail(s.labels, lead, lead + drop, s.labels.size());
    s.truncated = true;
  } else {
    const size_t keep = max - lead;
    s.ids = lead_and_tail(s.ids, lead, last_response, last_response + keep);
    s.labels = lead_and_tail(s.labels, lead, last_response, last_response + keep);
    s.truncated = s.response_cut = true;
  }
  return s;
}

}  // namespace lightpeft
