#pragma once
// Log-likelihood scoring of continuations, as lm-evaluation-harness's `loglikelihood` requests score
// multiple-choice questions: for a context and a continuation, the summed log-probability of the
// continuation's tokens given everything before them, and whether each of them is the greedy
// (argmax) token. No generation.
//
// Tokenization follows lm-eval's _encode_pair: trailing spaces of the context move to the start of
// the continuation; whole = encode(context + continuation), context ids = encode(context),
// continuation ids = whole[len(context ids):] (so a merge across the boundary is scored as part of
// the continuation). encode() here is the tokenizer's plain ids after its leading special tokens
// (tasks/causal_lm_encoding.h; none for SmolLM2): lm-eval with add_bos_token for tokenizers that
// add a BOS, its default otherwise.
//
// Scoring runs the context once for all the choices of a question: the requests of one group (equal
// contexts) are batched behind one key/value cache of their context, the contexts of several groups
// left-padded into one batch. Log-probabilities come from float32 log-softmax of the logits, as
// lm-eval computes them; the sum runs in double.
#include <cstdint>
#include <string>
#include <vector>

#include "lightpeft/models/task_model.h"
#include "lightpeft/tokenizers/tokenizer.h"

namespace lightpeft {

struct ContinuationRequest {
  std::vector<int64_t> context;       // at least one token
  std::vector<int64_t> continuation;  // at least one token
  // Requests with the same group (consecutive in the list) share their context, which must be the
  // same tokens: it is run once.
  int64_t group = 0;
};

// lm-eval's _encode_pair. The context is cut from its start to fit max_length tokens together with
// the continuation (lm-eval keeps the last max_length + 1 tokens of context + continuation).
// Throws lightpeft::Error for an empty continuation, or one of max_length tokens or more.
ContinuationRequest encode_continuation(const Tokenizer& tokenizer, const std::string& context,
                                        const std::string& continuation, int64_t max_length);

struct ContinuationScore {
  double loglikelihood = 0.0;
  bool greedy = false;  // every continuation token is the argmax of its position
};

struct ScoringOptions {
  int64_t batch_size = 8;                // requests (choices) per forward
  std::vector<LayerMasks> masks;         // Light-PEFT's masks, if any
};

// Scores every request, in order. `model` must have a causal LM head and be in eval mode (the
// caller holds no_grad). Throws lightpeft::Error for bad requests (an empty context, a group whose
// contexts differ).
std::vector<ContinuationScore> score_continuations(TaskModelImpl& model, const std::vector<ContinuationRequest>& requests,
                                                   const ScoringOptions& options = {});

}  // namespace lightpeft
