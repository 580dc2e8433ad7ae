// base_dtype: bf16 (models/linear.h store_frozen_linears_as): frozen linears stored in bf16 under
// LoRA compute in bf16 and return fp32; the model stays within bf16's precision of the fp32 one,
// LoRA weights, their gradients and the head stay fp32, and the frozen weights take half the bytes.
#include <ATen/autocast_mode.h>
#include <ATen/ops/linear.h>
#include <ATen/ops/randint.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "lightpeft/models/heads.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/tasks/causal_lm_task.h"

namespace lightpeft {
namespace {

ModelConfig tiny_llama() {
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.intermediate_size = 40;
  c.attention_units_per_layer = {2, 2};
  c.intermediate_per_layer = {40, 40};
  c.max_position_embeddings = 32;
  c.hidden_act = "silu";
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0.0;
  c.pad_token_id = -1;
  return c;
}

PeftModel lora_model() {
  torch::manual_seed(4);
  LoraConfig lc;
  lc.r = 4;
  lc.lora_dropout = 0.0;
  lc.task_type = "CAUSAL_LM";
  lc.target_modules = TargetModules::list({"q_proj", "v_proj", "down_proj"});
  auto peft = inject_lora(make_task_model(tiny_llama(), HeadKind::causal_lm), lc);
  torch::NoGradGuard no_grad;
  for (auto& kv : peft.layers) kv.second->rank_factor_out().normal_(0.0, 0.2);
  return peft;
}

int64_t frozen_bytes(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters())
    if (!p.requires_grad()) n += p.numel() * static_cast<int64_t>(p.element_size());
  return n;
}

TEST(Bf16Base, FrozenLinearsInBf16StayCloseAndTrainInFp32) {
  auto fp32 = lora_model(), bf16 = lora_model();
  const int64_t before = frozen_bytes(*bf16.model);
  // 2 layers x (q, k, v, o, gate, up, down) + lm_head: every frozen linear, none of LoRA's.
  EXPECT_EQ(store_frozen_linears_as(*bf16.model, at::kBFloat16), 15);
  EXPECT_LT(frozen_bytes(*bf16.model), before * 3 / 4);  // linears halve; embedding and norms stay fp32
  for (const auto& kv : bf16.layers) {
    EXPECT_EQ(kv.second->base_layer->weight.scalar_type(), at::kBFloat16) << kv.first;
    EXPECT_EQ(kv.second->rank_factor_in().scalar_type(), at::kFloat) << kv.first;
  }
  torch::manual_seed(1);
  ModelInputs in;
  in.input_ids = at::randint(0, 64, {2, 9}, at::kLong);
  auto a = fp32.model->forward(in).logits, b = bf16.model->forward(in).logits;
  EXPECT_EQ(b.scalar_type(), at::kFloat);
  const double rel = ((a - b).norm() / a.norm()).item<double>();
  EXPECT_LT(rel, 2e-2) << "bf16 has 8 significant bits";
  EXPECT_GT(rel, 0.0) << "the bf16 weights are in use";
  causal_lm_loss(a, in.input_ids).backward();
  causal_lm_loss(b, in.input_ids).backward();
  for (const auto& kv : fp32.layers) {
    auto ga = kv.second->rank_factor_out().grad(), gb = bf16.layers.at(kv.first)->rank_factor_out().grad();
    ASSERT_TRUE(gb.defined()) << kv.first;
    EXPECT_EQ(gb.scalar_type(), at::kFloat);
    EXPECT_LT(((ga - gb).norm() / ga.norm()).item<double>(), 5e-2) << kv.first;
  }
}

// Under bf16 autocast the tied LM head reads a kept bf16 cast of the frozen embedding: the same
// logits as autocast's own cast of it, a changed weight picked up, and the fused loss on it equal to
// the loss on those logits.
TEST(Bf16Base, TiedHeadUnderAutocastReadsACastThatFollowsTheWeight) {
  ModelConfig c = tiny_llama();
  c.tie_word_embeddings = true;
  torch::manual_seed(5);
  auto model = make_task_model(c, HeadKind::causal_lm);
  model->eval();
  for (auto& p : model->parameters()) p.requires_grad_(false);  // frozen, as under LoRA
  ModelInputs in;
  in.input_ids = at::randint(0, 64, {2, 9}, at::kLong);
  const at::Tensor embedding = model->named_parameters()["model.embed_tokens.weight"];
  at::autocast::set_autocast_dtype(at::kCPU, at::kBFloat16);
  at::autocast::set_autocast_enabled(at::kCPU, true);
  torch::NoGradGuard no_grad;
  auto check = [&](const char* when) {
    const ModelOutput out = model->forward(in);
    // Autocast casts both (a frozen weight afresh each call: it caches casts of trained leaves only).
    const at::Tensor ref = at::linear(out.last_hidden_state, embedding);
    EXPECT_EQ(out.logits.scalar_type(), at::kBFloat16) << when;
    EXPECT_TRUE(at::equal(out.logits, ref)) << when;
    ModelInputs asked = in;
    request_causal_lm_loss(asked, in.input_ids);
    const double fused = model->forward(asked).loss.item<double>();
    EXPECT_NEAR(fused, causal_lm_loss(out.logits, in.input_ids).item<double>(), 1e-5) << when;
    return out.logits;
  };
  const at::Tensor before = check("first forward");
  embedding.mul_(0.5);
  const at::Tensor after = check("after the weight changed");
  at::autocast::set_autocast_enabled(at::kCPU, false);
  at::autocast::clear_cache();
  EXPECT_FALSE(at::equal(before, after));
}

}  // namespace
}  // namespace lightpeft
