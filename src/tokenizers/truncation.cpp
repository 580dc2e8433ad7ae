#include "lightpeft/tokenizers/truncation.h"

#include <algorithm>
#include <utility>

#include "lightpeft/core/error.h"

namespace lightpeft {
namespace {

void keep_first(std::vector<int64_t>& ids, int64_t n) {
  if (static_cast<int64_t>(ids.size()) > n) ids.resize(static_cast<size_t>(n));
}

// HF's split of the budget between two sequences (tokenizers/src/utils/truncation.rs).
void truncate_longest_first(std::vector<int64_t>& first, std::vector<int64_t>& second,
                            int64_t max_length) {
  int64_t n1 = static_cast<int64_t>(first.size());
  int64_t n2 = static_cast<int64_t>(second.size());
  const bool swapped = n1 > n2;
  if (swapped) std::swap(n1, n2);  // n1 is the shorter
  // Either the longer one alone gives up tokens, or both shrink to about half the budget.
  n2 = n1 > max_length ? n1 : std::max(n1, max_length - n1);
  if (n1 + n2 > max_length) {
    n1 = max_length / 2;
    n2 = n1 + max_length % 2;
  }
  if (swapped) std::swap(n1, n2);
  keep_first(first, n1);
  keep_first(second, n2);
}

}  // namespace

void truncate_sequences(std::vector<int64_t>& first, std::vector<int64_t>* second,
                        int64_t max_length, Truncation strategy) {
  if (strategy == Truncation::none) return;
  LP_CHECK(max_length >= 0, "truncation: expected max_length >= 0, got ", max_length);
  if (max_length == 0) {  // HF empties both sequences whatever the strategy
    first.clear();
    if (second != nullptr) second->clear();
    return;
  }
  const int64_t total = static_cast<int64_t>(first.size() + (second ? second->size() : 0));
  if (total <= max_length) return;
  const int64_t to_remove = total - max_length;

  switch (strategy) {
    case Truncation::longest_first:
      if (second != nullptr) {
        truncate_longest_first(first, *second, max_length);
      } else {
        keep_first(first, max_length);
      }
      return;
    case Truncation::only_first:
    case Truncation::only_second: {
      const bool cut_first = strategy == Truncation::only_first;
      LP_CHECK(cut_first || second != nullptr,
               "truncation only_second: expected a second sequence (the input is ", total,
               " tokens, over the budget of ", max_length, ")");
      std::vector<int64_t>& target = cut_first ? first : *second;
      const int64_t length = static_cast<int64_t>(target.size());
      LP_CHECK(length > to_remove, "truncation ", cut_first ? "only_first" : "only_second",
               ": the ", cut_first ? "first" : "second", " sequence has ", length,
               " tokens, too few to remove ", to_remove, " and fit max_length ", max_length,
               " (expected a longer sequence, a larger max_length or longest_first)");
      keep_first(target, length - to_remove);
      return;
    }
    case Truncation::none:
      return;
  }
}

}  // namespace lightpeft
