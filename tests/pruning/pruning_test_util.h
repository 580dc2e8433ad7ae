#pragma once
// Tiny models with PEFT for the pruning tests: every LoRA B is random (a fresh LoRA computes the
// base exactly, which would hide slicing mistakes), dropout is 0 so training mode is deterministic.
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <torch/utils.h>

#include "lightpeft/models/task_model.h"
#include "lightpeft/peft/inject.h"

namespace lightpeft::testing {

inline ModelConfig tiny_config(const std::string& type = "bert", int64_t layers = 2,
                               int64_t heads = 4, int64_t ffn = 12) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 40;
  c.hidden_size = 4 * heads;  // head size 4
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.intermediate_size = ffn;
  c.attention_units_per_layer.assign(layers, heads);
  c.intermediate_per_layer.assign(layers, ffn);
  c.max_position_embeddings = 32;
  c.pad_token_id = type == "roberta" ? 1 : 0;
  c.num_labels = 3;
  c.hidden_dropout_prob = 0.0;
  c.attention_probs_dropout_prob = 0.0;
  return c;
}

inline LoraConfig all_linears_lora(int64_t r = 4, double alpha = 8.0) {
  LoraConfig lc;
  lc.r = r;
  lc.lora_alpha = alpha;
  lc.lora_dropout = 0.0;
  lc.target_modules = TargetModules::list(
      {"query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"});
  return lc;
}

inline void randomise_peft(PeftModel& peft, double std = 0.3) {
  torch::NoGradGuard no_grad;
  for (auto& kv : peft.layers) {
    kv.second->rank_factor_in().normal_(0.0, std);
    kv.second->rank_factor_out().normal_(0.0, std);
  }
}

// Same seed -> same model and same PEFT weights (for "pruned vs masked" comparisons).
inline PeftModel tiny_lora_model(uint64_t seed = 3, const std::string& type = "bert",
                                 int64_t layers = 2, int64_t r = 4) {
  torch::manual_seed(seed);
  auto model = make_task_model(tiny_config(type, layers), HeadKind::sequence_classification);
  auto peft = inject_lora(model, all_linears_lora(r));
  randomise_peft(peft);
  return peft;
}

inline PeftModel tiny_adapter_model(uint64_t seed = 3, int64_t layers = 2, int64_t width = 4) {
  torch::manual_seed(seed);
  auto model = make_task_model(tiny_config("bert", layers), HeadKind::sequence_classification);
  AdapterConfig ac;
  ac.bottleneck_size = width;
  ac.adapter_dropout = 0.0;
  auto peft = inject_adapters(model, ac);
  randomise_peft(peft);
  return peft;
}

// Token ids with padding at the end of row 1 (mask 0 there).
inline ModelInputs tiny_inputs(int64_t batch = 3, int64_t seq = 7, uint64_t seed = 11) {
  torch::manual_seed(seed);
  ModelInputs in;
  in.input_ids = at::randint(2, 40, {batch, seq}, at::kLong);
  in.attention_mask = at::ones({batch, seq}, at::kLong);
  in.attention_mask.index_put_({1, torch::indexing::Slice(seq - 3, seq)}, 0);
  return in;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace lightpeft::testing
