#pragma once
// From start/end logits over a question's windows to its answer text, as HF's
// postprocess_qa_predictions (examples/pytorch/question-answering/utils_qa.py):
//
//   - per window, the n_best_size highest start logits and the n_best_size highest end logits
//     (ties: the later position first, as numpy's argsort read backwards) give candidate spans
//     start..end that lie in the context (both tokens), with start <= end and at most
//     max_answer_length tokens; a span scores start_logit + end_logit (float32, as numpy sums them);
//   - v2: the null answer scores the minimum over the windows of logits[0] + logits[0] (the CLS
//     position; every window must agree there is no answer);
//   - candidates of all windows (and the null answer) are sorted by score, stable, and the best
//     n_best_size kept (the null answer added back if it fell out);
//   - without v2 the answer is the best candidate's context text ("empty" when no span qualified,
//     HF's stand-in); with v2 the best non-null candidate is taken unless null score - its start
//     logit - its end logit > null_score_diff_threshold, which answers "".
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lightpeft/data/qa_windows.h"

namespace lightpeft {

struct QaPostprocessOptions {
  bool version_2_with_negative = false;
  int64_t n_best_size = 20;
  int64_t max_answer_length = 30;
  double null_score_diff_threshold = 0.0;
};

// One window's logits: `length` values each, one per position of the window's input (positions
// past the window's tokens, e.g. padding, are never part of an answer but take part in the n-best
// selection, as in HF).
struct WindowLogits {
  const QaWindow* window = nullptr;
  const float* start = nullptr;
  const float* end = nullptr;
  int64_t length = 0;
};

struct QaAnswer {
  std::string text;                       // "" = no answer (v2)
  std::optional<double> null_score_diff;  // v2: null score - best non-null start - end logit
};

// The answer to one question from the logits of its windows (at least one), cut from `context`.
QaAnswer postprocess_qa(const std::string& context, const std::vector<WindowLogits>& windows,
                        const QaPostprocessOptions& options);

}  // namespace lightpeft
