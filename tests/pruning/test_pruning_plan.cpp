// make_plan's decisions (the spec's kept counts, scopes, ratio 0, ties, layers and modules losing
// everything) and the plan file: JSON round trip, atomic save, clear errors for malformed files.
#include <algorithm>
#include <numeric>

#include <ATen/ops/full.h>
#include <ATen/ops/randperm.h>
#include <ATen/ops/tensor.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "test_support.h"

namespace lightpeft {
namespace {

// Distinct scores: a random permutation of 0..n-1, scaled.
at::Tensor distinct(int64_t n, uint64_t seed) {
  torch::manual_seed(seed);
  return at::randperm(n, at::kLong).to(at::kFloat) * 0.01f - 1.0f;
}

FoundationScores foundation(int64_t layers, int64_t heads, int64_t neurons) {
  FoundationScores f;
  for (int64_t l = 0; l < layers; ++l) {
    f.heads.push_back(distinct(heads, 10 + l));
    // Distinct across layers too (integers below 2^24 are exact in float32).
    torch::manual_seed(100 + l);
    f.neurons.push_back(at::randperm(neurons, at::kLong).to(at::kFloat) * 24.0f +
                        static_cast<float>(l));
  }
  return f;
}

PeftScores peft_scores(int64_t modules, int64_t r) {
  PeftScores p;
  auto module_scores = distinct(modules, 7);
  auto rank_scores = distinct(modules * r, 8).view({modules, r});
  for (int64_t m = 0; m < modules; ++m) {
    const std::string path = "roberta.encoder.layer." + std::to_string(m) + ".query";
    p.modules[path] = module_scores[m].item<float>();
    p.ranks[path] = rank_scores[m].clone();
  }
  return p;
}

// RoBERTa-large with the spec's defaults: 11 of 16 heads per layer, 32,768 of 24 x 4096 neurons
// removed globally, 36 of 144 modules kept, half of their 288 ranks kept.
TEST(MakePlan, SpecDefaultsOnRobertaLargeSizes) {
  PruningScores s{foundation(24, 16, 4096), peft_scores(144, 8)};
  auto plan = make_plan(s, PruningOptions{});
  ASSERT_EQ(plan.layers.size(), 24u);
  for (const auto& l : plan.layers) EXPECT_EQ(l.heads.kept.size(), 11u);
  EXPECT_EQ(plan.neurons_before() - plan.neurons_after(), 32768);
  // Global: one threshold for all layers.
  EXPECT_EQ(*plan.layers[0].neurons.threshold, *plan.layers[23].neurons.threshold);
  EXPECT_EQ(plan.modules.size(), 144u);
  EXPECT_EQ(plan.modules_with_peft(), 36);
  EXPECT_EQ(plan.ranks_after(), 144);  // 36 * 8 = 288 ranks, (288 - 1) * 0.5 = 143.5 -> 144 kept
  for (const auto& m : plan.modules) {
    if (!m.kept) EXPECT_TRUE(m.kept_ranks.empty());
    for (int64_t r : m.kept_ranks) EXPECT_GT(static_cast<double>(m.rank_scores[r]), *plan.rank_threshold);
  }
}

TEST(MakePlan, BaseSizedLayerwiseHeadsKeepEight) {
  PruningOptions o;
  o.module_ratio = o.rank_ratio = 0.0;
  auto plan = make_plan({foundation(12, 12, 30), {}}, o);
  for (const auto& l : plan.layers) EXPECT_EQ(l.heads.kept.size(), 8u);
}

TEST(MakePlan, ScopesCanBeSwapped) {
  PruningOptions o;
  o.head_scope = PruningScope::global;
  o.neuron_scope = PruningScope::layerwise;
  o.module_ratio = o.rank_ratio = 0.0;
  FoundationScores f;
  // Layer 0's heads all score above layer 1's: globally, layer 1 loses its heads first.
  f.heads = {at::tensor(std::vector<float>{5, 6, 7, 8}), at::tensor(std::vector<float>{1, 2, 3, 4})};
  f.neurons = {at::tensor(std::vector<float>{1, 2, 3}), at::tensor(std::vector<float>{10, 20, 30})};
  o.head_ratio = 0.5;
  o.neuron_ratio = 0.5;
  auto plan = make_plan({f, {}}, o);
  EXPECT_EQ(plan.layers[0].heads.kept, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_TRUE(plan.layers[1].heads.kept.empty());  // a layer may lose all heads
  EXPECT_EQ(plan.layers[0].neurons.kept, (std::vector<int64_t>{2}));
  EXPECT_EQ(plan.layers[1].neurons.kept, (std::vector<int64_t>{2}));
}

TEST(MakePlan, RatioZeroPrunesNothingAndRecordsNoThreshold) {
  PruningOptions o;
  o.head_ratio = o.neuron_ratio = o.module_ratio = o.rank_ratio = 0.0;
  auto plan = make_plan({foundation(2, 4, 6), peft_scores(3, 2)}, o);
  EXPECT_EQ(plan.heads_after(), 8);
  EXPECT_EQ(plan.neurons_after(), 12);
  EXPECT_EQ(plan.modules_with_peft(), 3);
  EXPECT_EQ(plan.ranks_after(), 6);
  EXPECT_FALSE(plan.layers[0].heads.threshold.has_value());
  EXPECT_FALSE(plan.module_threshold.has_value());
  EXPECT_FALSE(plan.rank_threshold.has_value());
}

// Ties: units equal to the threshold are pruned; all-equal scores lose everything at that scope.
TEST(MakePlan, TiesAndALayerLosingAllNeurons) {
  PruningOptions o;
  o.neuron_scope = PruningScope::layerwise;
  o.module_ratio = o.rank_ratio = 0.0;
  FoundationScores f;
  f.heads = {at::tensor(std::vector<float>{1, 1, 1, 2, 2, 3}), at::tensor(std::vector<float>{1, 2, 3, 4, 5, 6})};
  f.neurons = {at::full({5}, 0.5f), at::tensor(std::vector<float>{1, 2, 3, 4, 5})};
  o.head_ratio = 0.5;  // layer 0: threshold 1.5 -> keeps the 2s and the 3
  auto plan = make_plan({f, {}}, o);
  EXPECT_EQ(plan.layers[0].heads.kept, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_TRUE(plan.layers[0].neurons.kept.empty());
  EXPECT_EQ(*plan.layers[0].neurons.threshold, 0.5);
  EXPECT_EQ(plan.layers[1].neurons.kept, (std::vector<int64_t>{2, 3, 4}));  // ratio 1/3: 2.33
}

TEST(MakePlan, ModuleLosingAllRanksHasNoPeft) {
  PeftScores p;
  p.modules = {{"a.query", 1.0f}, {"a.value", 2.0f}, {"b.query", 3.0f}};
  p.ranks = {{"a.query", at::tensor(std::vector<float>{9, 9})},
             {"a.value", at::tensor(std::vector<float>{0.1f, 0.2f})},
             {"b.query", at::tensor(std::vector<float>{0.5f, 3.0f})}};
  PruningOptions o;
  o.head_ratio = o.neuron_ratio = 0.0;
  o.module_ratio = 0.3;  // threshold 1.6: a.query is pruned whatever its ranks
  o.rank_ratio = 0.5;    // over a.value and b.query only: (0.1, 0.2, 0.5, 3) -> 0.35
  auto plan = make_plan({{}, p}, o);
  ASSERT_EQ(plan.modules.size(), 3u);
  EXPECT_FALSE(plan.find_module("a.query")->kept);
  EXPECT_FALSE(plan.find_module("a.query")->has_peft());
  EXPECT_TRUE(plan.find_module("a.value")->kept);
  EXPECT_TRUE(plan.find_module("a.value")->kept_ranks.empty());  // lost all ranks
  EXPECT_FALSE(plan.find_module("a.value")->has_peft());
  EXPECT_EQ(plan.find_module("b.query")->kept_ranks, (std::vector<int64_t>{0, 1}));
  EXPECT_NEAR(*plan.rank_threshold, 0.35, 1e-7);
  EXPECT_EQ(plan.modules_with_peft(), 1);
}

TEST(MakePlan, RejectsInconsistentScores) {
  PruningOptions o;
  EXPECT_THROW(make_plan({{}, {}}, o), Error);  // head ratio set, no foundation scores
  o.head_ratio = o.neuron_ratio = 0.0;
  PeftScores p;
  p.ranks["x.query"] = at::tensor(std::vector<float>{1, 2});
  EXPECT_THROW(make_plan({{}, p}, o), Error);  // module ratio set, no module score
  p.modules["x.query"] = 1.0f;
  p.modules["y.query"] = 1.0f;
  EXPECT_THROW(make_plan({{}, p}, o), Error);  // module score without ranks
  FoundationScores f;
  f.heads = {at::tensor(std::vector<float>{1, NAN})};
  f.neurons = {at::tensor(std::vector<float>{1})};
  o.head_ratio = 0.5;
  EXPECT_THROW(make_plan({f, {}}, o), Error);  // non-finite
  o.head_ratio = 1.5;
  EXPECT_THROW(make_plan({foundation(1, 2, 2), {}}, o), Error);
}

void expect_equal(const PruningPlan& a, const PruningPlan& b) {
  EXPECT_EQ(a.options.head_ratio, b.options.head_ratio);
  EXPECT_EQ(a.options.head_scope, b.options.head_scope);
  EXPECT_EQ(a.options.neuron_ratio, b.options.neuron_ratio);
  EXPECT_EQ(a.options.neuron_scope, b.options.neuron_scope);
  EXPECT_EQ(a.options.module_ratio, b.options.module_ratio);
  EXPECT_EQ(a.options.rank_ratio, b.options.rank_ratio);
  EXPECT_EQ(a.options.importance, b.options.importance);
  ASSERT_EQ(a.layers.size(), b.layers.size());
  for (size_t l = 0; l < a.layers.size(); ++l) {
    for (auto unit : {&LayerDecision::heads, &LayerDecision::neurons}) {
      EXPECT_EQ((a.layers[l].*unit).scores, (b.layers[l].*unit).scores);
      EXPECT_EQ((a.layers[l].*unit).threshold, (b.layers[l].*unit).threshold);
      EXPECT_EQ((a.layers[l].*unit).kept, (b.layers[l].*unit).kept);
    }
  }
  EXPECT_EQ(a.module_threshold, b.module_threshold);
  EXPECT_EQ(a.rank_threshold, b.rank_threshold);
  ASSERT_EQ(a.modules.size(), b.modules.size());
  for (size_t i = 0; i < a.modules.size(); ++i) {
    EXPECT_EQ(a.modules[i].path, b.modules[i].path);
    EXPECT_EQ(a.modules[i].score, b.modules[i].score);
    EXPECT_EQ(a.modules[i].kept, b.modules[i].kept);
    EXPECT_EQ(a.modules[i].rank_scores, b.modules[i].rank_scores);
    EXPECT_EQ(a.modules[i].kept_ranks, b.modules[i].kept_ranks);
  }
}

TEST(PlanFile, JsonRoundTripIsExact) {
  PruningOptions o;
  o.importance = "taylor";
  o.neuron_scope = PruningScope::layerwise;
  auto plan = make_plan({foundation(3, 4, 10), peft_scores(5, 4)}, o);
  auto again = parse_pruning_plan(pruning_plan_to_json(plan), "mem");
  expect_equal(plan, again);
  EXPECT_EQ(pruning_plan_to_json(again), pruning_plan_to_json(plan));

  testing::TempDir dir;
  save_pruning_plan(plan, dir / kPruningPlanFile);
  expect_equal(plan, load_pruning_plan(dir / kPruningPlanFile));
  // Ratio 0 leaves null thresholds, which also round-trip.
  o.head_ratio = o.module_ratio = 0.0;
  auto plain = make_plan({foundation(1, 4, 4), peft_scores(2, 2)}, o);
  expect_equal(plain, parse_pruning_plan(pruning_plan_to_json(plain), "mem"));
}

// Malformed files: each error names the file and the key.
TEST(PlanFile, MalformedPlansGiveClearErrors) {
  PruningOptions o;
  auto plan = make_plan({foundation(2, 4, 6), peft_scores(3, 2)}, o);
  const std::string good = pruning_plan_to_json(plan);
  auto mutate = [&](const std::string& from, const std::string& to) {
    auto pos = good.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    std::string bad = good;
    return bad.replace(pos, from.size(), to);
  };
  auto expect_error = [](const std::string& text, const std::vector<std::string>& parts) {
    try {
      parse_pruning_plan(text, "run/pruning_plan.json");
      ADD_FAILURE() << "no error for a plan needing: " << parts[0];
    } catch (const Error& e) {
      for (const auto& part : parts)
        EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect_error("{ not json", {"run/pruning_plan.json", "not valid JSON"});
  expect_error("[]", {"run/pruning_plan.json", "object"});
  expect_error(mutate("\"lightpeft-pruning-plan\"", "\"other\""), {"format"});
  expect_error(mutate("\"version\": 1", "\"version\": 9"), {"version", "unsupported"});
  expect_error(mutate("\"head_ratio\": 0.333333333", "\"head_ratio\": 2"),
               {"options.head_ratio", "[0, 1]"});
  expect_error(mutate("\"head_scope\": \"layerwise\"", "\"head_scope\": \"random\""),
               {"options.head_scope", "layerwise"});
  expect_error(mutate("\"rank_threshold\"", "\"rank_thresh\""), {"rank_threshold", "missing"});
  expect_error(mutate("\"kept\": true", "\"kept\": 1"), {".kept", "true or false"});
  // Indices out of range, unsorted, duplicated.
  auto with_kept = [&](const std::string& kept) {
    auto j = good;
    auto pos = j.find("\"kept\": [");
    auto end = j.find(']', pos);
    return j.replace(pos, end - pos + 1, "\"kept\": " + kept);
  };
  expect_error(with_kept("[0, 7]"), {"layers[0].heads.kept[1]", "out of range [0, 4)"});
  expect_error(with_kept("[2, 1]"), {"layers[0].heads.kept[1]", "ascending"});
  expect_error(with_kept("[1, 1]"), {"layers[0].heads.kept[1]", "ascending"});
  expect_error(with_kept("[0.5]"), {"layers[0].heads.kept[0]", "integer"});
  expect_error(with_kept("{}"), {"layers[0].heads.kept", "array"});
  // A pruned module keeping ranks.
  PruningPlan edited = plan;
  for (auto& m : edited.modules)
    if (!m.kept) m.kept_ranks = {0};
  expect_error(pruning_plan_to_json(edited), {"kept_ranks", "pruned module"});
  // Missing file.
  EXPECT_THROW(load_pruning_plan("/nonexistent/pruning_plan.json"), Error);
}

}  // namespace
}  // namespace lightpeft
