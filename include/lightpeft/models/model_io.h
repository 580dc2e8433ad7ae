#pragma once
// What goes into a model's forward and what comes out, for every family and head: token inputs
// (with optional positions and a key/value cache for generation), Light-PEFT's per-layer masks,
// and the backbone's and the head's outputs.
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace lightpeft {

// The keys and values of every decoder layer for the tokens seen so far (generation). Each entry is
// (B, KV heads, T_past, head size); `length` is T_past. Encoders never take one.
struct KvCache {
  std::vector<at::Tensor> keys, values;  // one per layer, filled by the first forward
  int64_t length = 0;
  bool empty() const { return length == 0; }
};

struct ModelInputs {
  at::Tensor input_ids;       // (B, T) int64
  at::Tensor attention_mask;  // (B, T) 1 for tokens, 0 for padding (B, T_past + T with a cache); undefined: all ones
  at::Tensor token_type_ids;  // (B, T) or undefined (encoders)
  at::Tensor position_ids;    // (B, T) or undefined: the family's default (HF's when not given)
  // Decoders, packed sequences: (B, T) int64, the row each token belongs to (padding: any value
  // with attention_mask 0). A token attends only to earlier tokens of its own row, and positions
  // restart at 0 in every row (what HF computes from position_ids with flash-attention packing).
  at::Tensor segment_ids;
  // Causal LM heads: (B, T) bool, the positions whose logits are wanted (a causal LM loss reads them
  // only where a label follows: a response is a few tokens of a long prompt). The head then returns
  // (N, vocab) for the N true positions in row-major order. Undefined: every position, (B, T, vocab).
  at::Tensor logits_mask;
  // Causal LM heads, with logits_mask: (N,) int64, the target id of each wanted position in the same
  // order (kIgnoreLabel: none). Then the head returns no logits but the mean cross-entropy over
  // them (ModelOutput::loss), its product fused with the loss (kernels/linear_cross_entropy.h): no
  // N x vocab tensor is kept for the backward. HF's `labels`, shifted and picked.
  at::Tensor loss_targets;
  KvCache* cache = nullptr;   // decoders: read and extended in place when set
};

// Optional per-layer masks of Light-PEFT's estimate stage; undefined tensors mean "no mask".
struct LayerMasks {
  at::Tensor head;    // (1, U, 1, 1), one per attention unit: multiplies attention probabilities
  at::Tensor neuron;  // (1, d_ff): multiplies the MLP activation (for SwiGLU: act(gate) * up)
};

struct BackboneOutput {
  at::Tensor last_hidden_state;           // (B, T, hidden)
  at::Tensor pooler_output;               // (B, hidden), BERT's pooled [CLS]; undefined otherwise
  std::vector<at::Tensor> hidden_states;  // embeddings + each layer, when requested
};

struct ModelOutput {
  at::Tensor logits;  // the head's: (B, num_labels), (B, T, vocab), (B, T, 2) for span QA
  at::Tensor loss;    // 0-dim, when ModelInputs::loss_targets asked for it (logits then undefined)
  at::Tensor last_hidden_state;
  std::vector<at::Tensor> hidden_states;
};

}  // namespace lightpeft
