// Activation checkpointing (models/checkpointing.h, training.gradient_checkpointing): the same loss
// and gradients as without it (LoRA weights, Light-PEFT's masks, the head), with dropout on (the
// recomputation replays the random state), for an encoder and a decoder; Light-PEFT's module
// importance counts each forward once.
#include <ATen/ops/randint.h>
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "lightpeft/models/heads.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/foundation_masks.h"
#include "lightpeft/pruning/module_importance.h"

namespace lightpeft {
namespace {

ModelConfig tiny(const std::string& type) {
  ModelConfig c;
  c.model_type = type;
  c.vocab_size = 50;
  c.hidden_size = 24;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 6;
  c.num_key_value_heads = type == "llama" ? 2 : 0;
  c.intermediate_size = 20;
  c.attention_units_per_layer.assign(3, type == "llama" ? 2 : 6);
  c.intermediate_per_layer.assign(3, 20);
  c.max_position_embeddings = 32;
  c.hidden_act = type == "llama" ? "silu" : "gelu";
  c.hidden_dropout_prob = 0.2;
  c.attention_probs_dropout_prob = 0.2;
  c.pad_token_id = 0;
  c.num_labels = 3;
  return c;
}

struct TrainingPass {
  double loss = 0;
  std::map<std::string, at::Tensor> grads;
  std::map<std::string, float> module_scores;
};

TrainingPass run_pass(const std::string& type, bool checkpoint) {
  torch::manual_seed(5);
  const HeadKind head = type == "llama" ? HeadKind::causal_lm : HeadKind::sequence_classification;
  auto model = make_task_model(tiny(type), head);
  LoraConfig lc;
  lc.r = 4;
  lc.lora_dropout = 0.1;
  lc.task_type = type == "llama" ? "CAUSAL_LM" : "SEQ_CLS";
  lc.target_modules = TargetModules::list(model->family().all_linear_targets);
  auto peft = inject_lora(model, lc);
  {
    torch::NoGradGuard no_grad;
    for (auto& kv : peft.layers) kv.second->rank_factor_out().normal_(0.0, 0.3);
  }
  FoundationMasks masks(model->config());
  masks->set_trainable(true);
  model->backbone().set_gradient_checkpointing(checkpoint);
  model->train();
  ModuleImportance importance(peft, 1);
  importance.attach();
  torch::manual_seed(9);
  ModelInputs in;
  in.input_ids = at::randint(1, 50, {2, 7}, at::kLong);
  importance.begin_step(0, {});
  auto out = model->forward(in, masks->layer_masks());
  auto loss = head == HeadKind::causal_lm ? causal_lm_loss(out.logits, in.input_ids)
                                          : sequence_classification_loss(model->config(), out.logits,
                                                                         at::tensor(std::vector<int64_t>{0, 2}));
  loss = loss + 1e-2 * masks->l1_penalty();
  loss.backward();
  importance.end_step();
  TrainingPass r;
  r.loss = loss.item<double>();
  for (const auto& p : model->named_parameters())
    if (p.value().requires_grad()) r.grads[p.key()] = p.value().grad().clone();
  for (const auto& p : masks->named_parameters()) r.grads["mask." + p.key()] = p.value().grad().clone();
  r.module_scores = importance.scores();
  return r;
}

class Checkpointing : public ::testing::TestWithParam<std::string> {};

TEST_P(Checkpointing, SameLossAndGradientsAsWithout) {
  const TrainingPass plain = run_pass(GetParam(), false), ckpt = run_pass(GetParam(), true);
  EXPECT_NEAR(plain.loss, ckpt.loss, 1e-6);
  ASSERT_EQ(plain.grads.size(), ckpt.grads.size());
  ASSERT_GT(plain.grads.size(), 10u);
  for (const auto& [name, g] : plain.grads) {
    ASSERT_TRUE(ckpt.grads.count(name)) << name;
    ASSERT_TRUE(g.defined() && ckpt.grads.at(name).defined()) << name;
    EXPECT_LE((g - ckpt.grads.at(name)).abs().max().item<double>(), 1e-6) << name;
  }
  ASSERT_EQ(plain.module_scores.size(), ckpt.module_scores.size());
  for (const auto& [path, s] : plain.module_scores) EXPECT_NEAR(s, ckpt.module_scores.at(path), 1e-6) << path;
}

INSTANTIATE_TEST_SUITE_P(Families, Checkpointing, ::testing::Values("bert", "llama", "gpt2", "opt"));

}  // namespace
}  // namespace lightpeft
