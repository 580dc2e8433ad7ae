// light_peft.estimate_steps: auto — the estimate stage stops when the pruning decisions stop
// changing (or at estimate_max_steps), records how many steps it took and why, and a second run
// of the same config takes the same steps and makes the same plan (the stage restarts from step 0
// with the same seed and data order).
#include <algorithm>
#include <cmath>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "lightpeft/train/train_config.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

UnitDecision unit(int64_t n, std::vector<int64_t> kept) {
  UnitDecision d;
  d.scores.assign(static_cast<size_t>(n), 0.0f);
  d.kept = std::move(kept);
  return d;
}

TEST(PlanOverlap, JaccardOfEachKeptSet) {
  PruningPlan a, b;
  a.layers = {{unit(4, {0, 1, 2}), unit(6, {0, 1})}, {unit(4, {3}), unit(6, {5})}};
  b.layers = {{unit(4, {0, 1}), unit(6, {0, 1})}, {unit(4, {3}), unit(6, {4})}};
  ModuleDecision m;
  m.path = "x";
  m.rank_scores = {0, 0, 0, 0};
  m.kept_ranks = {0, 2};
  a.modules = {m};
  m.kept_ranks = {0, 2};
  b.modules = {m};
  const PlanOverlap o = plan_overlap(a, b);
  EXPECT_DOUBLE_EQ(o.heads, 3.0 / 4.0);    // {(0,0),(0,1),(0,2),(1,3)} vs {(0,0),(0,1),(1,3)}
  EXPECT_DOUBLE_EQ(o.neurons, 2.0 / 4.0);  // (1,5) vs (1,4)
  EXPECT_DOUBLE_EQ(o.modules, 1.0);
  EXPECT_DOUBLE_EQ(o.ranks, 1.0);
  EXPECT_DOUBLE_EQ(o.min(), 0.5);
  EXPECT_DOUBLE_EQ(plan_overlap(PruningPlan{}, PruningPlan{}).min(), 1.0);  // nothing kept either way
}

// The same two plans by decisions: every unit, module and rank of the unpruned model is a candidate
// and a swap costs two of them.
TEST(PlanAgreement, FractionOfCandidatesWithTheSameDecision) {
  PruningPlan a, b;
  a.layers = {{unit(4, {0, 1, 2}), unit(6, {0, 1})}, {unit(4, {3}), unit(6, {5})}};
  b.layers = {{unit(4, {0, 1}), unit(6, {0, 1})}, {unit(4, {3}), unit(6, {4})}};
  ModuleDecision m, n;
  m.path = "x";
  m.rank_scores = {0, 0, 0, 0};
  m.kept_ranks = {0, 2};
  n.path = "y";
  n.rank_scores = {0, 0, 0, 0, 0, 0};
  n.kept_ranks = {1};
  a.modules = {m, n};
  m.kept_ranks = {0, 3};
  n.kept = false;  // pruned module: no PEFT, no ranks
  n.kept_ranks = {};
  b.modules = {m, n};
  const PlanOverlap g = plan_agreement(a, b);
  EXPECT_DOUBLE_EQ(g.heads, 1.0 - 1.0 / 8.0);     // (0,2) differs among 8 heads
  EXPECT_DOUBLE_EQ(g.neurons, 1.0 - 2.0 / 12.0);  // (1,5) and (1,4) among 12 neurons
  EXPECT_DOUBLE_EQ(g.modules, 1.0 - 1.0 / 2.0);   // y lost its PEFT
  EXPECT_DOUBLE_EQ(g.ranks, 1.0 - 3.0 / 10.0);    // (x,2), (x,3), (y,1) among 4 + 6 ranks
  EXPECT_DOUBLE_EQ(g.min(), 0.5);
  // Jaccard of the same kept sets, for comparison: the small sets lose more per change.
  const PlanOverlap o = plan_overlap(a, b);
  EXPECT_DOUBLE_EQ(o.ranks, 1.0 / 4.0);  // {(x,0)} of {(x,0),(x,2),(x,3),(y,1)}
  EXPECT_DOUBLE_EQ(plan_agreement(a, a).min(), 1.0);
  EXPECT_DOUBLE_EQ(plan_agreement(PruningPlan{}, PruningPlan{}).min(), 1.0);  // no candidates
}

TEST(EstimateAuto, StopsWhenTheDecisionsAreStableAndRepeats) {
  testing::TempDir root;
  testing::make_tiny_run_files(root.path());
  auto run = [&](const std::string& name) {
    const fs::path out = root / name;
    testing::write_file(root / (name + ".yaml"), testing::tiny_config_yaml(root.path(), "light-peft", out));
    auto r = testing::run_cli("train --config " + (root / (name + ".yaml")).string() +
                              " --set light_peft.estimate_steps=auto --set light_peft.estimate_check_steps=2"
                              " --set light_peft.estimate_patience=2 --set light_peft.estimate_min_steps=4"
                              " --set light_peft.estimate_max_steps=60 --set light_peft.estimate_agreement=0.9"
                              " --set light_peft.estimate_overlap=0.5");
    EXPECT_EQ(r.code, 0) << r.output;
    // What the pruning bought, from the run itself.
    EXPECT_NE(r.output.find("pruning: step time "), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(" s (unpruned, estimate)"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("pruning: peak RSS "), std::string::npos) << r.output;
    return out;
  };
  const fs::path first = run("a"), second = run("b");
  const json results = json::parse(testing::read_file(first / "results.json"));
  const json& pruning = results.at("pruning");
  const int64_t steps = pruning.at("estimate_steps").get<int64_t>();
  // Each stage's own peak; the run's is the largest.
  const json& peaks = results.at("stage_peak_cpu_rss_bytes");
  int64_t largest = 0;
  for (const char* stage : {"estimate", "prune", "finetune"}) {
    ASSERT_TRUE(peaks.contains(stage)) << peaks.dump();
    EXPECT_GT(peaks.at(stage).get<int64_t>(), 0) << stage;
    largest = std::max(largest, peaks.at(stage).get<int64_t>());
  }
  EXPECT_EQ(results.at("peak_cpu_rss_bytes").get<int64_t>(), largest);
  // The finetune stage started from what the process held with the pruned model ready.
  const int64_t start = results.at("finetune_start_cpu_rss_bytes").get<int64_t>();
  EXPECT_GT(start, 0);
  EXPECT_LE(start, peaks.at("finetune").get<int64_t>());
  const std::string why = pruning.at("estimate_stop").get<std::string>();
  EXPECT_TRUE(why == "stable" || why == "max_steps") << why;
  EXPECT_EQ(why == "stable", steps < 60) << steps;
  EXPECT_GE(steps, 4);
  EXPECT_EQ(steps % 2, 0);
  // Every check after the first logged its overlaps.
  const std::string metrics = testing::read_file(first / "metrics.jsonl");
  EXPECT_NE(metrics.find("\"overlap_heads\""), std::string::npos);
  EXPECT_NE(metrics.find("\"agreement_ranks\""), std::string::npos);
  // The report draws the overlaps and says how the estimate ended.
  auto report = testing::run_cli("report " + first.string());
  ASSERT_EQ(report.code, 0) << report.output;
  EXPECT_TRUE(fs::exists(first / "report" / "estimate_overlap.png")) << report.output;
  EXPECT_NE(testing::read_file(first / "report" / "index.md").find("- estimate: " + std::to_string(steps) + " steps"),
            std::string::npos);
  // The same config decides the same: as many steps, the same plan.
  const json again = json::parse(testing::read_file(second / "results.json"));
  EXPECT_EQ(again.at("pruning").at("estimate_steps"), pruning.at("estimate_steps"));
  EXPECT_EQ(pruning_plan_to_json(load_pruning_plan(first / "prune" / kPruningPlanFile)),
            pruning_plan_to_json(load_pruning_plan(second / "prune" / kPruningPlanFile)));
}

// light_peft.estimate_gradient_checkpointing recomputes each layer in the estimate's backward (the
// dropout draws repeated): the same importance scores up to rounding, so the same plan.
TEST(EstimateCheckpointing, MakesTheSamePlanAsWithout) {
  testing::TempDir root;
  testing::make_tiny_run_files(root.path());
  auto prune = [&](const std::string& name, bool checkpointing) {
    const fs::path out = root / name;
    testing::write_file(root / (name + ".yaml"), testing::tiny_config_yaml(root.path(), "light-peft", out));
    auto r = testing::run_cli("prune --config " + (root / (name + ".yaml")).string() +
                              " --set light_peft.estimate_gradient_checkpointing=" +
                              (checkpointing ? "true" : "false"));
    EXPECT_EQ(r.code, 0) << r.output;
    return load_pruning_plan(out / "prune" / kPruningPlanFile);
  };
  const PruningPlan plain = prune("plain", false), checkpointed = prune("checkpointed", true);
  EXPECT_DOUBLE_EQ(plan_overlap(plain, checkpointed).min(), 1.0);
  ASSERT_EQ(plain.layers.size(), checkpointed.layers.size());
  auto expect_close_scores = [](const UnitDecision& a, const UnitDecision& b, const std::string& what) {
    ASSERT_EQ(a.scores.size(), b.scores.size()) << what;
    for (size_t i = 0; i < a.scores.size(); ++i)
      EXPECT_NEAR(a.scores[i], b.scores[i], 1e-4 * (1 + std::abs(a.scores[i]))) << what << " " << i;
  };
  for (size_t l = 0; l < plain.layers.size(); ++l) {
    expect_close_scores(plain.layers[l].heads, checkpointed.layers[l].heads, "heads of layer " + std::to_string(l));
    expect_close_scores(plain.layers[l].neurons, checkpointed.layers[l].neurons, "neurons of layer " + std::to_string(l));
  }
}

// light_peft.estimate_base_dtype: bf16 stores the frozen weights in bf16 for the estimate only: the
// head and neuron scores stay within bf16's rounding of the fp32 estimate's, and the finetune builds
// the pruned model from the checkpoint's fp32 weights (no bf16 conversion after the estimate).
TEST(EstimateBf16Base, ScoresWithinBf16RoundingAndTheFinetuneStaysFp32) {
  testing::TempDir root;
  testing::make_tiny_run_files(root.path());
  auto train = [&](const std::string& name, const std::string& dtype) {
    const fs::path out = root / name;
    testing::write_file(root / (name + ".yaml"), testing::tiny_config_yaml(root.path(), "light-peft", out));
    auto r = testing::run_cli("train --config " + (root / (name + ".yaml")).string() +
                              " --set light_peft.estimate_base_dtype=" + dtype);
    EXPECT_EQ(r.code, 0) << r.output;
    return std::make_pair(load_pruning_plan(out / "prune" / kPruningPlanFile), testing::read_file(out / "train.log"));
  };
  const auto [fp32, fp32_log] = train("fp32", "fp32");
  const auto [bf16, bf16_log] = train("bf16", "bf16");
  EXPECT_EQ(fp32_log.find("stored in bf16"), std::string::npos) << fp32_log;
  const std::string said = "frozen linear layers stored in bf16 for this stage only";
  const auto at = bf16_log.find(said);
  ASSERT_NE(at, std::string::npos) << bf16_log;
  // Once: the prune and finetune stages hold fp32 base weights.
  EXPECT_EQ(bf16_log.find("stored in bf16", at + said.size()), std::string::npos) << bf16_log;
  ASSERT_EQ(fp32.layers.size(), bf16.layers.size());
  double largest = 0, differs = 0;
  auto compare = [&](const UnitDecision& a, const UnitDecision& b) {
    ASSERT_EQ(a.scores.size(), b.scores.size());
    for (size_t i = 0; i < a.scores.size(); ++i) {
      largest = std::max(largest, static_cast<double>(std::abs(a.scores[i])));
      differs = std::max(differs, static_cast<double>(std::abs(a.scores[i] - b.scores[i])));
    }
  };
  for (size_t l = 0; l < fp32.layers.size(); ++l) {
    compare(fp32.layers[l].heads, bf16.layers[l].heads);
    compare(fp32.layers[l].neurons, bf16.layers[l].neurons);
  }
  EXPECT_GT(differs, 0.0);  // bf16 did run
  EXPECT_LT(differs, 2e-2 * (1 + largest)) << "largest score " << largest;
}

TEST(EstimateAuto, ConfigReadsAutoAndChecksItsBounds) {
  const std::string base = "task: rte\ndata_dir: d\nmodel: m\noutput_dir: o\n";
  TrainConfig c = parse_train_config(base + "light_peft:\n  estimate_steps: auto\n", "x.yaml");
  EXPECT_TRUE(c.light_peft.estimate_steps.automatic);
  EXPECT_NE(train_config_to_yaml(c).find("estimate_steps: auto"), std::string::npos);
  try {
    parse_train_config(base + "light_peft:\n  estimate_steps: soon\n", "x.yaml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("expected a integer or `auto`, got 'soon'"), std::string::npos) << e.what();
  }
  try {
    parse_train_config(base + "light_peft:\n  estimate_steps: auto\n  estimate_min_steps: 50\n  estimate_max_steps: 40\n",
                       "x.yaml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("estimate_min_steps"), std::string::npos) << e.what();
  }
  try {
    parse_train_config(base + "light_peft:\n  estimate_steps: auto\n  estimate_agreement: 1.5\n", "x.yaml");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("key 'light_peft.estimate_agreement': expected a number in [0, 1], got 1.5"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lightpeft
