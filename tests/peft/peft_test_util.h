#pragma once
// Tiny models and inputs shared by the PEFT tests.
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <torch/utils.h>

#include "lightpeft/models/task_model.h"

namespace lightpeft::testing {

inline ModelConfig tiny_config(const std::string& type, int64_t layers = 2) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 50;
  c.hidden_size = 24;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 3;
  c.intermediate_size = 20;
  c.attention_units_per_layer.assign(layers, 3);
  c.intermediate_per_layer.assign(layers, 20);
  c.max_position_embeddings = 32;
  c.pad_token_id = type == "roberta" ? 1 : 0;
  c.num_labels = 3;
  return c;
}

inline TaskModel tiny_model(const std::string& type, int64_t layers = 2, uint64_t seed = 7) {
  torch::manual_seed(seed);
  return make_task_model(tiny_config(type, layers), HeadKind::sequence_classification);
}

inline ModelInputs random_inputs(int64_t batch = 3, int64_t seq = 9, int64_t vocab = 50) {
  ModelInputs in;
  in.input_ids = at::randint(2, vocab, {batch, seq}, at::kLong);
  in.attention_mask = at::ones({batch, seq}, at::kLong);
  in.attention_mask.index_put_({1, torch::indexing::Slice(seq - 3, seq)}, 0);
  return in;
}

// max |a - b|, in double.
inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace lightpeft::testing
