#pragma once
// The official SQuAD evaluation: evaluate-v1.1.py (HF's `squad` metric) and evaluate-v2.0.py (HF's
// `squad_v2`), on answer texts.
//
// Normalisation (both): Python's str.lower() (full Unicode lower-casing with the final-sigma rule),
// remove ASCII punctuation (string.punctuation), replace the words a, an, the (re \b(a|an|the)\b,
// whose \b is Unicode-aware: words are runs of letters, numbers and '_', as Python's \w) with a space,
// then collapse whitespace (str.split(): Unicode whitespace). Tokens = the normalised text split on
// whitespace.
//
// Exact match = normalised texts equal. F1 over the tokens' multiset intersection. Each question
// scores the max over its gold answers. The two versions differ in corner cases:
//   v1.1: F1 with no common token is 0, even when both texts normalise to nothing.
//   v2.0: gold answers that normalise to nothing are dropped, and a question left without gold
//         answers (unanswerable) has the one gold answer ""; F1 when either side has no tokens is
//         1 if both have none, else 0.
// Scores are percentages (0-100), as both scripts print them.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lightpeft/data/metrics.h"

namespace lightpeft {

enum class SquadVersion { v1, v2 };

std::string squad_normalize(std::string_view text);
// 1 or 0.
double squad_exact_match(std::string_view gold, std::string_view prediction);
// Token F1 in [0, 1].
double squad_f1(std::string_view gold, std::string_view prediction, SquadVersion version);

struct SquadGold {
  std::string id;
  std::vector<std::string> answers;  // empty: unanswerable (v2)
};

// The scores of `predictions` (id -> answer text; "" means no answer) over `questions`:
//   v1: exact_match, f1 (a question without a prediction scores 0, as in evaluate-v1.1.py)
//   v2: exact_match, f1, total, and over the questions with / without gold answers HasAns_exact,
//       HasAns_f1, HasAns_total, NoAns_exact, NoAns_f1, NoAns_total (each group when it has
//       questions). evaluate-v2.0.py fails on a missing prediction; so does this.
// The headline is f1. Throws lightpeft::Error when `questions` is empty.
MetricResult squad_scores(const std::vector<SquadGold>& questions,
                          const std::map<std::string, std::string>& predictions, SquadVersion version);

}  // namespace lightpeft
