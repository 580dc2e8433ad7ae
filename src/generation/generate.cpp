#include "lightpeft/generation/generate.h"

#include <algorithm>
#include <chrono>

#include <ATen/ops/argmax.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/full.h>
#include <ATen/ops/multinomial.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/softmax.h>
#include <ATen/ops/sort.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/topk.h>
#include <ATen/ops/zeros.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/llama.h"

namespace lightpeft {
namespace {

// HF's warpers in HF's order: temperature, top-k, top-p (the smallest set whose probability
// reaches top_p keeps at least one token); masked logits become -inf.
at::Tensor warp(at::Tensor logits, const GenerationConfig& c) {
  if (c.temperature != 1.0) logits = logits / c.temperature;
  const double lowest = -std::numeric_limits<double>::infinity();
  if (c.top_k > 0 && c.top_k < logits.size(-1)) {
    auto kth = std::get<0>(at::topk(logits, c.top_k, -1)).select(-1, c.top_k - 1).unsqueeze(-1);
    logits = logits.masked_fill(logits < kth, lowest);
  }
  if (c.top_p < 1.0) {
    auto [sorted, order] = at::sort(logits, -1, /*descending=*/false);
    auto cumulative = at::cumsum(at::softmax(sorted, -1), -1);
    auto remove_sorted = cumulative <= (1.0 - c.top_p);
    remove_sorted.select(-1, remove_sorted.size(-1) - 1).fill_(false);
    auto remove = at::zeros_like(remove_sorted).scatter(-1, order, remove_sorted);
    logits = logits.masked_fill(remove, lowest);
  }
  return logits;
}

}  // namespace

void validate_generation_config(const GenerationConfig& c) {
  LP_CHECK(c.max_new_tokens >= 1, "generation: max_new_tokens must be >= 1, got ", c.max_new_tokens);
  LP_CHECK(c.temperature > 0, "generation: temperature must be > 0, got ", c.temperature);
  LP_CHECK(c.top_k >= 0, "generation: top_k must be >= 0, got ", c.top_k);
  LP_CHECK(c.top_p > 0 && c.top_p <= 1.0, "generation: top_p must be in (0, 1], got ", c.top_p);
}

GenerationResult generate(TaskModelImpl& model, const std::vector<std::vector<int64_t>>& prompts,
                          const GenerationConfig& config) {
  validate_generation_config(config);
  LP_CHECK(model.head_kind() == HeadKind::causal_lm, "generate: the model has a ",
           to_string(model.head_kind()), " head; generation needs a causal LM");
  LP_CHECK(!prompts.empty(), "generate: no prompts");
  const auto started = std::chrono::steady_clock::now();
  std::vector<int64_t> eos = config.eos_token_ids.empty() ? model.config().eos_token_ids : config.eos_token_ids;
  const int64_t pad = config.pad_token_id >= 0 ? config.pad_token_id
                      : !eos.empty()            ? eos.front()
                                                : std::max<int64_t>(model.config().pad_token_id, 0);
  const auto batch = static_cast<int64_t>(prompts.size());
  int64_t longest = 0;
  for (const auto& p : prompts) {
    LP_CHECK(!p.empty(), "generate: an empty prompt (a decoder needs at least one token)");
    longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
  }
  LP_CHECK(longest + config.max_new_tokens <= model.config().max_position_embeddings,
           "generate: prompt (", longest, " tokens) + max_new_tokens (", config.max_new_tokens,
           ") exceeds the model's ", model.config().max_position_embeddings, " positions");
  const auto device = model.parameters().front().device();
  // Left padding: every prompt ends at the same column, so the next token is always the last one.
  auto ids = at::full({batch, longest}, pad, at::kLong);
  auto mask = at::zeros({batch, longest}, at::kLong);
  for (int64_t b = 0; b < batch; ++b) {
    const auto& p = prompts[b];
    const int64_t offset = longest - static_cast<int64_t>(p.size());
    for (size_t t = 0; t < p.size(); ++t) ids[b][offset + static_cast<int64_t>(t)] = p[t];
    mask.select(0, b).narrow(0, offset, static_cast<int64_t>(p.size())).fill_(1);
  }
  ids = ids.to(device);
  mask = mask.to(device);

  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(config.seed);
  KvCache cache;
  GenerationResult result;
  result.tokens.assign(static_cast<size_t>(batch), {});
  std::vector<bool> done(static_cast<size_t>(batch), false);
  auto positions = positions_from_attention_mask(mask);
  at::Tensor step_ids = ids;
  for (int64_t step = 0; step < config.max_new_tokens; ++step) {
    ModelInputs in;
    in.input_ids = step_ids;
    in.attention_mask = mask;
    in.position_ids = positions;
    in.cache = &cache;
    auto logits = model.forward(in).logits.select(1, step_ids.size(1) - 1).to(at::kFloat);  // (B, V)
    at::Tensor next;
    if (config.do_sample) {
      auto probs = at::softmax(warp(logits, config), -1).to(at::kCPU);
      next = at::multinomial(probs, 1, false, generator).squeeze(-1);
    } else {
      next = at::argmax(logits, -1).to(at::kCPU);
    }
    bool all_done = true;
    for (int64_t b = 0; b < batch; ++b) {
      if (done[b]) {
        next[b] = pad;  // finished sequences continue with padding, as HF's
        continue;
      }
      const int64_t token = next[b].item<int64_t>();
      result.tokens[b].push_back(token);
      ++result.new_tokens;
      if (std::find(eos.begin(), eos.end(), token) != eos.end()) done[b] = true;
      all_done = all_done && done[b];
    }
    if (all_done) break;
    step_ids = next.unsqueeze(1).to(device);
    mask = at::cat({mask, at::ones({batch, 1}, mask.options())}, 1);
    positions = positions.select(1, positions.size(1) - 1).unsqueeze(1) + 1;
  }
  if (was_training) model.train();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

std::vector<std::string> generate_text(TaskModelImpl& model, const Tokenizer& tokenizer,
                                       const std::vector<std::string>& prompts,
                                       const GenerationConfig& config, int64_t batch_size) {
  LP_CHECK(batch_size >= 1, "generate_text: batch_size must be >= 1");
  std::vector<std::string> out;
  for (size_t start = 0; start < prompts.size(); start += static_cast<size_t>(batch_size)) {
    std::vector<std::vector<int64_t>> ids;
    for (size_t i = start; i < std::min(prompts.size(), start + static_cast<size_t>(batch_size)); ++i) {
      EncodeOptions options;
      options.truncation = Truncation::none;
      ids.push_back(tokenizer.encode(prompts[i], nullptr, options).input_ids);
    }
    for (const auto& tokens : generate(model, ids, config).tokens)
      out.push_back(tokenizer.decode(tokens, /*skip_special_tokens=*/true));
  }
  return out;
}

}  // namespace lightpeft
