// Logits over a question's windows -> its answer, as HF's postprocess_qa_predictions
// (data/qa_postprocess.h).
#include "lightpeft/data/qa_postprocess.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "lightpeft/core/error.h"

namespace lightpeft {

namespace {

struct Candidate {
  int64_t begin = 0, end = 0;  // context bytes
  float score = 0, start_logit = 0, end_logit = 0;
  bool null = false;
};

// numpy's np.argsort(x)[-1 : -n - 1 : -1]: the positions of the n largest values, largest first;
// among equal values the later position first; NaN above everything (argsort puts it last).
std::vector<int64_t> top_positions(const float* x, int64_t length, int64_t n) {
  std::vector<int64_t> idx(static_cast<size_t>(length));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  auto before = [x](int64_t a, int64_t b) {
    const bool na = std::isnan(x[a]), nb = std::isnan(x[b]);
    if (na != nb) return na;
    if (!na && x[a] != x[b]) return x[a] > x[b];
    return a > b;
  };
  const auto k = static_cast<size_t>(std::min<int64_t>(n, length));
  std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(), before);
  idx.resize(k);
  return idx;
}

// A score as a sort key that keeps the order strict when a logit is NaN (it sorts last).
float sort_key(float score) { return std::isnan(score) ? -std::numeric_limits<float>::infinity() : score; }

}  // namespace

QaAnswer postprocess_qa(const std::string& context, const std::vector<WindowLogits>& windows,
                        const QaPostprocessOptions& options) {
  LP_CHECK(!windows.empty(), "QA post-processing: a question without windows");
  std::vector<Candidate> candidates;
  Candidate min_null;
  bool have_null = false;
  for (const WindowLogits& w : windows) {
    LP_CHECK(w.window != nullptr && w.length > 0, "QA post-processing: a window without logits");
    const float null_score = w.start[0] + w.end[0];
    if (!have_null || min_null.score > null_score) {
      min_null = Candidate{0, 0, null_score, w.start[0], w.end[0], true};
      have_null = true;
    }
    const std::vector<int64_t> starts = top_positions(w.start, w.length, options.n_best_size);
    const std::vector<int64_t> ends = top_positions(w.end, w.length, options.n_best_size);
    for (int64_t s : starts) {
      for (int64_t e : ends) {
        const auto s_span = w.window->context_span(s), e_span = w.window->context_span(e);
        if (!s_span || !e_span) continue;  // not context: the question, a special token, padding
        if (e < s || e - s + 1 > options.max_answer_length) continue;
        candidates.push_back(Candidate{s_span->first, e_span->second, w.start[s] + w.end[e], w.start[s], w.end[e], false});
      }
    }
  }
  const bool v2 = options.version_2_with_negative;
  if (v2) candidates.push_back(min_null);
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return sort_key(a.score) > sort_key(b.score); });
  if (static_cast<int64_t>(candidates.size()) > options.n_best_size)
    candidates.resize(static_cast<size_t>(std::max<int64_t>(options.n_best_size, 0)));
  if (v2 && std::none_of(candidates.begin(), candidates.end(), [](const Candidate& c) { return c.null; }))
    candidates.push_back(min_null);

  auto text_of = [&context](const Candidate& c) {
    const auto size = static_cast<int64_t>(context.size());
    const int64_t b = std::clamp<int64_t>(c.begin, 0, size), e = std::clamp<int64_t>(c.end, 0, size);
    return e > b ? context.substr(static_cast<size_t>(b), static_cast<size_t>(e - b)) : std::string();
  };
  struct Named {
    std::string text;
    float start_logit, end_logit;
  };
  std::vector<Named> named;
  for (const Candidate& c : candidates) named.push_back({text_of(c), c.start_logit, c.end_logit});
  // HF's stand-in when no span qualified (nothing at all, or only the null answer).
  if (named.empty() || (named.size() == 1 && named[0].text.empty())) named.insert(named.begin(), {"empty", 0.0f, 0.0f});

  QaAnswer answer;
  if (!v2) {
    answer.text = named[0].text;
    return answer;
  }
  auto best = std::find_if(named.begin(), named.end(), [](const Named& n) { return !n.text.empty(); });
  const Named stand_in{"empty", 0.0f, 0.0f};  // (HF would fail here: only empty texts)
  const Named& non_null = best != named.end() ? *best : stand_in;
  const float diff = min_null.score - non_null.start_logit - non_null.end_logit;
  answer.null_score_diff = static_cast<double>(diff);
  answer.text = static_cast<double>(diff) > options.null_score_diff_threshold ? std::string() : non_null.text;
  return answer;
}

}  // namespace lightpeft
