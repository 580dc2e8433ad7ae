// lm-eval-style log-likelihood scoring of continuations (tasks/choice_scoring.h).
#include "lightpeft/tasks/choice_scoring.h"

#include <algorithm>
#include <numeric>

#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/full.h>
#include <ATen/ops/log_softmax.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/llama.h"
#include "lightpeft/tasks/causal_lm_encoding.h"

namespace lightpeft {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

struct Group {
  size_t begin = 0, end = 0;  // its requests
};

// float32 log-softmax of the logits of some hidden states (rows), as lm-eval takes them.
at::Tensor log_probs(const CausalLmHead& head, const at::Tensor& hidden) {
  return at::log_softmax(head.project(hidden).to(at::kFloat), -1).to(at::kCPU).contiguous();
}

}  // namespace

ContinuationRequest encode_continuation(const Tokenizer& tokenizer, const std::string& context,
                                        const std::string& continuation, int64_t max_length) {
  std::string ctx = context, cont = continuation;
  size_t end = ctx.size();
  while (end > 0 && is_space(ctx[end - 1])) --end;
  cont = ctx.substr(end) + cont;  // lm-eval: trailing spaces of the context belong to the continuation
  ctx.resize(end);
  const std::vector<int64_t> lead = leading_special_tokens(tokenizer);
  ContinuationRequest r;
  r.context = lead;
  const auto context_ids = tokenizer.encode_plain(ctx);
  r.context.insert(r.context.end(), context_ids.begin(), context_ids.end());
  std::vector<int64_t> whole = lead;
  const auto whole_ids = tokenizer.encode_plain(ctx + cont);
  whole.insert(whole.end(), whole_ids.begin(), whole_ids.end());
  LP_CHECK(whole.size() > r.context.size(), "choice scoring: the continuation \"", continuation,
           "\" adds no token to its context");
  r.continuation.assign(whole.begin() + static_cast<std::ptrdiff_t>(r.context.size()), whole.end());
  const auto cont_len = static_cast<int64_t>(r.continuation.size());
  LP_CHECK(cont_len < max_length, "choice scoring: the continuation \"", continuation, "\" has ", cont_len,
           " tokens, no room for a context within ", max_length);
  if (static_cast<int64_t>(r.context.size()) + cont_len > max_length)
    r.context.erase(r.context.begin(), r.context.end() - (max_length - cont_len));
  if (r.context.empty()) r.context = lead;
  LP_CHECK(!r.context.empty(), "choice scoring: an empty context (lm-eval would start from the EOS token)");
  return r;
}

std::vector<ContinuationScore> score_continuations(TaskModelImpl& model, const std::vector<ContinuationRequest>& requests,
                                                   const ScoringOptions& options) {
  LP_CHECK(options.batch_size >= 1, "choice scoring: batch_size must be >= 1");
  const auto* head = dynamic_cast<const CausalLmHead*>(&model.head());
  LP_CHECK(head != nullptr, "choice scoring: the model has a ", to_string(model.head_kind()),
           " head; scoring continuations needs a causal LM");
  // Groups: runs of requests with one group id and one context.
  std::vector<Group> groups;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    LP_CHECK(!r.context.empty() && !r.continuation.empty(), "choice scoring: request ", i,
             " has an empty context or continuation");
    if (!groups.empty() && requests[groups.back().begin].group == r.group) {
      LP_CHECK(requests[groups.back().begin].context == r.context, "choice scoring: request ", i,
               " is in the group of request ", groups.back().begin, " but has another context");
      groups.back().end = i + 1;
    } else {
      groups.push_back({i, i + 1});
    }
  }
  // Longest contexts first: batches of similar lengths (the results do not depend on the order).
  std::stable_sort(groups.begin(), groups.end(), [&](const Group& a, const Group& b) {
    return requests[a.begin].context.size() > requests[b.begin].context.size();
  });
  const auto device = model.parameters().front().device();
  std::vector<ContinuationScore> scores(requests.size());
  for (size_t first = 0; first < groups.size();) {
    // A batch: whole groups while their requests fit batch_size (a larger group goes alone).
    size_t last = first, n = 0;
    while (last < groups.size() &&
           (last == first || n + (groups[last].end - groups[last].begin) <= static_cast<size_t>(options.batch_size))) {
      n += groups[last].end - groups[last].begin;
      ++last;
    }
    const auto g_count = static_cast<int64_t>(last - first);
    int64_t lc = 0, m = 0;
    for (size_t g = first; g < last; ++g) {
      lc = std::max<int64_t>(lc, static_cast<int64_t>(requests[groups[g].begin].context.size()));
      for (size_t i = groups[g].begin; i < groups[g].end; ++i)
        m = std::max<int64_t>(m, static_cast<int64_t>(requests[i].continuation.size()) - 1);
    }
    // The contexts, left-padded (as generation batches prompts), into one key/value cache.
    auto ids = at::zeros({g_count, lc}, at::kLong);
    auto mask = at::zeros({g_count, lc}, at::kLong);
    std::vector<int64_t> context_length(static_cast<size_t>(g_count));
    for (int64_t g = 0; g < g_count; ++g) {
      const auto& c = requests[groups[first + g].begin].context;
      const auto len = static_cast<int64_t>(c.size());
      context_length[g] = len;
      ids[g].narrow(0, lc - len, len).copy_(at::tensor(c, at::kLong));
      mask[g].narrow(0, lc - len, len).fill_(1);
    }
    KvCache cache;
    ModelInputs in;
    in.input_ids = ids.to(device);
    in.attention_mask = mask.to(device);
    in.position_ids = positions_from_attention_mask(mask).to(device);
    in.cache = &cache;
    const BackboneOutput out = model.backbone().forward(in, options.masks);
    const at::Tensor first_lp = log_probs(*head, out.last_hidden_state.select(1, lc - 1));  // (G, V)
    const at::Tensor first_best = first_lp.argmax(-1);
    const auto first_at = first_lp.accessor<float, 2>();
    const auto first_best_at = first_best.accessor<int64_t, 1>();
    // Every request's first continuation token, from its context's last position.
    std::vector<int64_t> row_group;  // batch row -> group row
    std::vector<size_t> row_request;
    for (int64_t g = 0; g < g_count; ++g) {
      for (size_t i = groups[first + g].begin; i < groups[first + g].end; ++i) {
        const int64_t t = requests[i].continuation[0];
        scores[i].loglikelihood = first_at[g][t];
        scores[i].greedy = first_best_at[g] == t;
        row_group.push_back(g);
        row_request.push_back(i);
      }
    }
    if (m > 0) {
      // The rest of the continuations (all but their last token), right-padded, behind their
      // context's cache repeated once per request.
      const auto rows = static_cast<int64_t>(row_group.size());
      const at::Tensor index = at::tensor(row_group, at::kLong).to(device);
      KvCache expanded;
      for (size_t l = 0; l < cache.keys.size(); ++l) {
        expanded.keys.push_back(cache.keys[l].index_select(0, index));
        expanded.values.push_back(cache.values[l].index_select(0, index));
      }
      expanded.length = cache.length;
      auto ids2 = at::zeros({rows, m}, at::kLong);
      auto mask2 = at::zeros({rows, m}, at::kLong);
      auto pos2 = at::zeros({rows, m}, at::kLong);
      for (int64_t r = 0; r < rows; ++r) {
        const auto& cont = requests[row_request[r]].continuation;
        const auto len = static_cast<int64_t>(cont.size()) - 1;
        if (len > 0) {
          ids2[r].narrow(0, 0, len).copy_(at::tensor(std::vector<int64_t>(cont.begin(), cont.end() - 1), at::kLong));
          mask2[r].narrow(0, 0, len).fill_(1);
        }
        pos2[r].copy_(at::arange(m, at::kLong) + context_length[row_group[r]]);
      }
      ModelInputs in2;
      in2.input_ids = ids2.to(device);
      in2.attention_mask = at::cat({mask.index_select(0, index.to(at::kCPU)), mask2}, 1).to(device);
      in2.position_ids = pos2.to(device);
      in2.cache = &expanded;
      const BackboneOutput out2 = model.backbone().forward(in2, options.masks);
      const at::Tensor lp = log_probs(*head, out2.last_hidden_state);  // (rows, m, V)
      const at::Tensor best = lp.argmax(-1);
      const auto lp_at = lp.accessor<float, 3>();
      const auto best_at = best.accessor<int64_t, 2>();
      for (int64_t r = 0; r < rows; ++r) {
        const auto& cont = requests[row_request[r]].continuation;
        auto& s = scores[row_request[r]];
        for (size_t j = 1; j < cont.size(); ++j) {
          const auto at = static_cast<int64_t>(j) - 1;
          s.loglikelihood += lp_at[r][at][cont[j]];
          s.greedy = s.greedy && best_at[r][at] == cont[j];
        }
      }
    }
    first = last;
  }
  return scores;
}

}  // namespace lightpeft
