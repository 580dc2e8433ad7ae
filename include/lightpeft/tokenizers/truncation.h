#pragma once
// Truncation of one or two id sequences to a token budget, as HF tokenizers' truncate_encodings.
#include <cstdint>
#include <vector>

#include "lightpeft/tokenizers/encoding.h"

namespace lightpeft {

// Shortens `first` (and `second`, may be null) from the right so that together they hold at most
// max_length ids (the caller has already subtracted the special tokens). longest_first splits the
// budget as HF does (not one token at a time): the shorter keeps its length if the longer can take the
// rest, otherwise both get max_length / 2 with the odd token going to the longer (to the second on a
// tie). only_first / only_second cut only that sequence and throw lightpeft::Error when it is too
// short, or when only_second is asked of a single sequence that needs cutting. none does nothing.
void truncate_sequences(std::vector<int64_t>& first, std::vector<int64_t>* second,
                        int64_t max_length, Truncation strategy);

}  // namespace lightpeft
