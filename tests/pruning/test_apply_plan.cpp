// apply_plan: the pruned model computes what the unpruned model computes with the plan's heads and
// neurons masked to 0/1 and the pruned LoRA modules/ranks zeroed (heads, neurons, modules and
// ranks together, LoRA and adapters); LoRA weights are sliced as the plan says, the scaling stays
// alpha / r_original, modules losing all ranks are removed, parameter counts shrink as computed by
// hand, and a plan for another model is refused before anything changes.
#include <set>

#include <ATen/ops/index_select.h>
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/pruning/foundation_masks.h"
#include "lightpeft/pruning/module_importance.h"
#include "lightpeft/pruning/rank_importance.h"
#include "pruning_test_util.h"

namespace lightpeft {
namespace {

using testing::max_abs_diff;
using testing::tiny_inputs;
using testing::tiny_lora_model;

const std::string kPrefix = "bert.encoder.layer.";

// The unpruned tiny model: 2 layers, 4 heads of size 4 (hidden 16), 12 FFN neurons, rank 4.
UnitDecision unit(int64_t n, std::vector<int64_t> kept) {
  UnitDecision u;
  u.scores.assign(n, 0.0f);
  u.kept = std::move(kept);
  return u;
}

// Per module (suffix after "bert.encoder.layer."): absent = pruned; else the kept ranks.
using RankChoice = std::map<std::string, std::vector<int64_t>>;

PruningPlan hand_plan(const PeftModel& peft, const RankChoice& ranks, int64_t r = 4) {
  PruningPlan plan;
  plan.layers.push_back({unit(4, {0, 2}), unit(12, {1, 2, 3, 6, 7, 8, 9, 10})});
  plan.layers.push_back({unit(4, {3}), unit(12, {})});  // a layer losing all its FFN neurons
  for (const auto& path : peft.injected_paths()) {
    ModuleDecision m;
    m.path = path;
    m.rank_scores.assign(r, 0.0f);
    auto it = ranks.find(path.substr(kPrefix.size()));
    m.kept = it != ranks.end();
    if (m.kept) m.kept_ranks = it->second;
    plan.modules.push_back(m);
  }
  return plan;
}

const RankChoice kLoraRanks = {
    {"0.attention.self.query", {1, 3}},
    // "0.attention.self.key": pruned module
    {"0.attention.self.value", {}},  // kept module losing all ranks
    {"0.attention.output.dense", {0}},
    {"0.intermediate.dense", {0, 1, 2, 3}},
    {"0.output.dense", {2}},
    {"1.attention.self.query", {0, 1, 2, 3}},
    {"1.attention.self.key", {0}},
    // "1.attention.self.value": pruned
    {"1.attention.output.dense", {1, 2}},
    // "1.intermediate.dense": pruned
    {"1.output.dense", {3}},
};

// What the plan means on the unpruned model, for the PEFT side: zero the update of every pruned
// module and of every pruned rank (the B / up column of that rank).
void zero_pruned_peft(PeftModel& peft, const PruningPlan& plan) {
  torch::NoGradGuard no_grad;
  for (const auto& m : plan.modules) {
    at::Tensor up = peft.layers.at(m.path)->rank_factor_out();  // lora_B / adapter_up
    std::set<int64_t> kept(m.kept_ranks.begin(), m.kept_ranks.end());
    for (int64_t i = 0; i < m.rank(); ++i)
      if (!m.has_peft() || kept.count(i) == 0) up.select(1, i).zero_();
  }
}

at::Tensor rows_of_heads(const std::vector<int64_t>& heads) {
  std::vector<int64_t> rows;
  for (int64_t h : heads)
    for (int64_t i = 0; i < 4; ++i) rows.push_back(h * 4 + i);
  return at::tensor(rows, at::kLong);
}

at::Tensor idx(const std::vector<int64_t>& v) { return at::tensor(v, at::kLong); }

TEST(ApplyPlan, PrunedLoraModelEqualsMaskedUnprunedModel) {
  auto peft = tiny_lora_model(3);
  auto reference = tiny_lora_model(3);
  const auto plan = hand_plan(peft, kLoraRanks);
  // Copies of the estimate-stage LoRA weights, to check the slicing.
  const auto q0 = kPrefix + "0.attention.self.query";
  const auto out0 = kPrefix + "0.output.dense";
  auto A_q0 = peft.lora(q0)->lora_A->weight.detach().clone();
  auto B_q0 = peft.lora(q0)->lora_B->weight.detach().clone();
  auto A_out0 = peft.lora(out0)->lora_A->weight.detach().clone();
  auto B_out0 = peft.lora(out0)->lora_B->weight.detach().clone();
  const double scaling = peft.lora(q0)->scaling();

  auto report = apply_plan(peft, plan);

  peft.model->eval();
  reference.model->eval();
  zero_pruned_peft(reference, plan);
  auto in = tiny_inputs();
  torch::NoGradGuard no_grad;
  auto pruned_logits = peft.forward(in).logits;
  auto masked_logits = reference.forward(in, plan_layer_masks(plan)).logits;
  EXPECT_LT(max_abs_diff(pruned_logits, masked_logits), 1e-5);
  // Not trivially equal: the pruning changed the output.
  EXPECT_GT(max_abs_diff(pruned_logits, reference.forward(in).logits), 1e-4);

  // LoRA on query (layer 0): ranks {1, 3}, rows of heads {0, 2}; scaling unchanged.
  auto q = peft.lora(q0);
  EXPECT_EQ(q->r(), 2);
  EXPECT_EQ(q->scaling(), scaling);
  EXPECT_TRUE(q->lora_A->weight.equal(at::index_select(A_q0, 0, idx({1, 3}))));
  EXPECT_TRUE(q->lora_B->weight.equal(
      at::index_select(at::index_select(B_q0, 0, rows_of_heads({0, 2})), 1, idx({1, 3}))));
  // LoRA on the FFN output (layer 0): rank {2}, A's columns of the kept neurons.
  auto o = peft.lora(out0);
  EXPECT_TRUE(o->lora_A->weight.equal(
      at::index_select(at::index_select(A_out0, 0, idx({2})), 1, idx({1, 2, 3, 6, 7, 8, 9, 10}))));
  EXPECT_TRUE(o->lora_B->weight.equal(at::index_select(B_out0, 1, idx({2}))));

  // Pruned modules and the module that lost all ranks are plain Dense again.
  auto modules = peft.model->named_modules();
  for (const std::string suffix : {"0.attention.self.key", "0.attention.self.value",
                                   "1.attention.self.value", "1.intermediate.dense"}) {
    EXPECT_EQ(peft.layers.count(kPrefix + suffix), 0u) << suffix;
    EXPECT_NE(dynamic_cast<DenseImpl*>(modules[kPrefix + suffix].get()), nullptr) << suffix;
  }
  EXPECT_EQ(peft.layers.size(), 8u);
  EXPECT_EQ(peft.model->config().attention_units_per_layer, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(peft.model->config().intermediate_per_layer, (std::vector<int64_t>{8, 0}));
  EXPECT_TRUE(peft.model->config().is_pruned());

  // Parameter counts by hand (hidden 16, head size 4): a pruned head removes 4 rows (weight and
  // bias) of q, k and v and 4 columns of attention.output.dense; a pruned neuron a row of
  // intermediate.dense and a column of output.dense.
  const int64_t pruned_heads = 2 + 3, pruned_neurons = 4 + 12;
  const int64_t foundation_removed = pruned_heads * (3 * 4 * 17 + 4 * 16) + pruned_neurons * (17 + 16);
  EXPECT_EQ(report.before.foundation - report.after.foundation, foundation_removed);
  // LoRA after: kept ranks * (in + out) on the pruned dims (layer 0: 8 q/k/v rows, 8 neurons;
  // layer 1: 4 rows, 0 neurons).
  const int64_t peft_after = 2 * (16 + 8) + 1 * (8 + 16) + 4 * (16 + 8) + 1 * (8 + 16) +
                             4 * (16 + 4) + 1 * (16 + 4) + 2 * (4 + 16) + 1 * (0 + 16);
  EXPECT_EQ(report.after.peft, peft_after);
  // Before: per layer q, k, v, attention.output.dense (16 -> 16) and the FFN pair (16 <-> 12).
  EXPECT_EQ(report.before.peft, 2 * (4 * 4 * (16 + 16) + 2 * 4 * (16 + 12)));
  const int64_t head_params = report.before.trainable - report.before.peft;  // the classifier
  EXPECT_EQ(report.after.trainable, report.after.peft + head_params);
  EXPECT_EQ(report.after.total, report.after.foundation + report.after.peft);
}

TEST(ApplyPlan, PrunedModelStillTrains) {
  auto peft = tiny_lora_model(4);
  apply_plan(peft, hand_plan(peft, kLoraRanks));
  peft.model->train();
  auto in = tiny_inputs();
  auto logits = peft.forward(in).logits;
  auto loss = sequence_classification_loss(peft.model->config(), logits,
                                           at::tensor(std::vector<int64_t>{0, 1, 2}, at::kLong));
  loss.backward();
  for (const auto& kv : peft.layers) {
    ASSERT_TRUE(kv.second->rank_factor_out().grad().defined()) << kv.first;
    EXPECT_EQ(kv.second->rank_factor_out().grad().sizes(), kv.second->rank_factor_out().sizes());
  }
}

TEST(ApplyPlan, PrunedAdapterModelEqualsMaskedUnprunedModel) {
  auto peft = testing::tiny_adapter_model(6);
  auto reference = testing::tiny_adapter_model(6);
  const RankChoice ranks = {{"0.attention.output.dense", {0, 2}},
                            // "0.output.dense": pruned
                            {"1.attention.output.dense", {0, 1, 2, 3}},
                            {"1.output.dense", {}}};  // loses all units
  const auto plan = hand_plan(peft, ranks);
  apply_plan(peft, plan);
  EXPECT_EQ(peft.layers.size(), 2u);
  EXPECT_EQ(peft.layer_as<BottleneckAdapterImpl>(kPrefix + "0.attention.output.dense")->bottleneck_size(), 2);
  peft.model->eval();
  reference.model->eval();
  zero_pruned_peft(reference, plan);
  auto in = tiny_inputs();
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(peft.forward(in).logits,
                         reference.forward(in, plan_layer_masks(plan)).logits),
            1e-5);
}

TEST(ApplyPlan, RefusesAPlanForAnotherModelAndChangesNothing) {
  auto peft = tiny_lora_model(3);
  const auto plan = hand_plan(peft, kLoraRanks);
  const auto before = parameter_counts(peft);

  auto other = tiny_lora_model(3, "bert", /*layers=*/3);
  EXPECT_THROW(apply_plan(other, plan), Error);  // 2 layers in the plan, 3 in the model

  auto bad = plan;
  bad.modules.pop_back();  // a PEFT module the plan does not mention
  EXPECT_THROW(apply_plan(peft, bad), Error);
  bad = plan;
  bad.modules[0].rank_scores.resize(8);  // planned for r = 8
  EXPECT_THROW(apply_plan(peft, bad), Error);
  bad = plan;
  bad.modules[0].path = "bert.encoder.layer.9.attention.self.query";
  EXPECT_THROW(apply_plan(peft, bad), Error);
  bad = plan;
  bad.layers[1].neurons = unit(10, {});
  try {
    apply_plan(peft, bad);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 1"), std::string::npos) << e.what();
  }
  const auto after = parameter_counts(peft);
  EXPECT_EQ(after.total, before.total);
  EXPECT_EQ(peft.layers.size(), 12u);

  apply_plan(peft, plan);
  EXPECT_THROW(apply_plan(peft, plan), Error);  // already pruned: the sizes no longer fit
}

// A plan without layer decisions prunes PEFT only.
TEST(ApplyPlan, PeftOnlyPlan) {
  auto peft = tiny_lora_model(3);
  auto reference = tiny_lora_model(3);
  auto plan = hand_plan(peft, kLoraRanks);
  plan.layers.clear();
  auto report = apply_plan(peft, plan);
  EXPECT_EQ(report.before.foundation, report.after.foundation);
  EXPECT_FALSE(peft.model->config().is_pruned());
  EXPECT_TRUE(plan_layer_masks(plan).empty());
  zero_pruned_peft(reference, plan);
  peft.model->eval();
  reference.model->eval();
  auto in = tiny_inputs();
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(peft.forward(in).logits, reference.forward(in).logits), 1e-5);
}

// The official flow: a fresh pretrained model gets the same LoRA config, the estimate-stage LoRA
// and classifier weights are carried over, then the plan is applied.
TEST(ApplyPlan, CarryOverFromTheEstimateModelThenPrune) {
  auto estimate = tiny_lora_model(3);
  {
    torch::NoGradGuard no_grad;
    for (auto& p : estimate.model->named_modules()["classifier"]->parameters()) p.normal_(0.0, 0.5);
  }
  torch::manual_seed(3);  // the same pretrained weights
  auto fresh = inject_lora(make_task_model(testing::tiny_config(), HeadKind::sequence_classification),
                           testing::all_linears_lora());
  carry_over_peft_weights(estimate, fresh);
  estimate.model->eval();
  fresh.model->eval();
  auto in = tiny_inputs();
  {
    torch::NoGradGuard no_grad;
    EXPECT_LT(max_abs_diff(fresh.forward(in).logits, estimate.forward(in).logits), 1e-6);
  }
  const auto plan = hand_plan(fresh, kLoraRanks);
  apply_plan(fresh, plan);
  zero_pruned_peft(estimate, plan);
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(fresh.forward(in).logits, estimate.forward(in, plan_layer_masks(plan)).logits),
            1e-5);

  auto wrong_rank = tiny_lora_model(3, "bert", 2, /*r=*/2);
  EXPECT_THROW(carry_over_peft_weights(estimate, wrong_rank), Error);
}

// Everything together on RoBERTa: masks and LoRA trained a few steps with the L1 term, importances
// recorded, a plan made with the default rule, applied; the pruned model equals the estimate model
// with the plan's 0/1 masks (instead of the trained mask values) and zeroed pruned LoRA.
TEST(ApplyPlan, EstimatePlanApplyPipeline) {
  auto peft = tiny_lora_model(8, "roberta");
  FoundationMasks masks(peft.model->config());
  const int64_t steps = 4;
  ModuleImportance module_imp(peft, steps);
  RankImportance rank_imp(peft, steps);
  module_imp.attach();
  peft.model->train();
  std::vector<at::Tensor> trainable = masks->parameters();
  for (const auto& p : peft.model->parameters())
    if (p.requires_grad()) trainable.push_back(p);
  auto labels = at::tensor(std::vector<int64_t>{0, 1, 2}, at::kLong);
  for (int64_t step = 0; step < steps; ++step) {
    auto in = tiny_inputs(3, 7, 20 + step);
    in.input_ids.clamp_min_(3);  // no RoBERTa padding id inside the tokens
    module_imp.begin_step(step, in.attention_mask);
    auto logits = peft.forward(in, masks->layer_masks()).logits;
    auto loss = sequence_classification_loss(peft.model->config(), logits, labels) +
                1e-4 * masks->l1_penalty();
    for (auto& p : trainable) p.mutable_grad() = torch::Tensor();
    loss.backward();
    rank_imp.accumulate(step);
    module_imp.end_step();
    torch::NoGradGuard no_grad;
    for (auto& p : trainable)
      if (p.grad().defined()) p.sub_(p.grad() * 0.5);  // plain SGD, large steps
  }
  module_imp.detach();
  PruningOptions options;
  options.head_ratio = 0.5;
  options.neuron_ratio = 0.5;
  auto plan = make_plan({mask_value_scores(masks), {module_imp.scores(), rank_imp.scores()}}, options);
  EXPECT_EQ(plan.modules.size(), 12u);
  int64_t kept_modules = 0;
  for (const auto& m : plan.modules) kept_modules += m.kept ? 1 : 0;
  EXPECT_EQ(kept_modules, 3);  // (12 - 1) * 0.75 = 8.25: the 3 best of 12 survive
  EXPECT_EQ(plan.heads_after(), 4);

  // Prune a fresh model with the same pretrained weights and the carried-over estimate weights.
  torch::manual_seed(8);
  auto pruned = inject_lora(make_task_model(testing::tiny_config("roberta"), HeadKind::sequence_classification),
                            testing::all_linears_lora());
  carry_over_peft_weights(peft, pruned);
  apply_plan(pruned, plan);
  zero_pruned_peft(peft, plan);
  peft.model->eval();
  pruned.model->eval();
  auto in = tiny_inputs();
  in.input_ids.clamp_min_(3);
  torch::NoGradGuard no_grad;
  EXPECT_LT(max_abs_diff(pruned.forward(in).logits, peft.forward(in, plan_layer_masks(plan)).logits),
            1e-5);
}

}  // namespace
}  // namespace lightpeft
