#pragma once
// What every decoder backbone's forward shares around its own embeddings and final norm: the input
// checks and the cache bookkeeping (begin_decoder_step), and the loop over the layers with the
// per-layer masks, the key/value cache and activation checkpointing (run_decoder_layers).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "lightpeft/models/checkpointing.h"
#include "lightpeft/models/model_io.h"

namespace lightpeft {

struct DecoderStep {
  int64_t batch = 0, seq = 0, past = 0;
  KvCache* cache = nullptr;
  at::Tensor* keys(size_t layer) const { return cache ? &cache->keys[layer] : nullptr; }
  at::Tensor* values(size_t layer) const { return cache ? &cache->values[layer] : nullptr; }
};

// Checks the inputs (ids (B, T), masks empty or one per layer; errors name `model`), reads the
// shape and the cache's past length, and sizes the cache's per-layer slots on first use.
DecoderStep begin_decoder_step(const ModelInputs& inputs, const std::vector<LayerMasks>& masks,
                               size_t layers, const char* model);

// h through every layer: forward(l, x, masks of l, cached keys, cached values) -> the layer's
// output. With `checkpoint` (and no cache) each layer is recomputed in backward; `forward` must
// then hold what it needs by value (it outlives this call). Appends each layer's output to
// `hidden_states` when given, and leaves the cache holding past + seq tokens.
template <typename LayerForward>
at::Tensor run_decoder_layers(const DecoderStep& step, at::Tensor h, const std::vector<LayerMasks>& masks,
                              size_t layers, bool checkpoint, std::vector<at::Tensor>* hidden_states,
                              LayerForward forward) {
  static const LayerMasks none;
  for (size_t l = 0; l < layers; ++l) {
    const LayerMasks& m = masks.empty() ? none : masks[l];
    if (checkpoint && step.cache == nullptr) {
      h = checkpointed([forward, l, m](const at::Tensor& x) mutable { return forward(l, x, m, nullptr, nullptr); }, h);
    } else {
      h = forward(l, h, m, step.keys(l), step.values(l));
    }
    if (hidden_states) hidden_states->push_back(h);
  }
  if (step.cache) step.cache->length = step.past + step.seq;
  return h;
}

}  // namespace lightpeft
