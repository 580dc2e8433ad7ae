#pragma once
// Every decision of Light-PEFT's pruning, made once from the estimate stage's importances and
// written as JSON beside the checkpoint, so that a run's pruning can be read, diffed and replayed:
// kept heads and FFN neurons per layer, kept PEFT modules, kept ranks per module, with the scores
// and thresholds that decided them.
//
// The rule everywhere (spec 1.1, 1.2 c): threshold = np.quantile(scores, ratio) computed in float64
// as the official numpy 1.x did (quantile.h), keep score > threshold. Scores are float32 (the masks'
// and importances' dtype). Edge cases, decided here and tested:
//   - ratio 0 prunes nothing (no threshold; the official code skips a granularity whose ratio is 0,
//     where the quantile rule would otherwise drop the minimum);
//   - ties: units whose score equals the threshold are pruned, so tied scores can make the kept
//     count smaller than n * (1 - ratio); all-equal scores keep none at that scope;
//   - a layer may lose all heads or all FFN neurons (the model runs with 0 of either: attention or
//     FFN then adds only its output bias); logged as a warning;
//   - a module losing all ranks has its LoRA/adapter removed, like a pruned module;
//   - ranks are pruned globally over the modules that survived module pruning only.
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "lightpeft/pruning/foundation_importance.h"
#include "lightpeft/pruning/pruning_scope.h"

namespace lightpeft {

// Ratios are the fraction pruned (np.quantile's q), each in [0, 1]. Defaults: the spec's train.sh.
struct PruningOptions {
  double head_ratio = 0.333333333;
  PruningScope head_scope = PruningScope::layerwise;
  double neuron_ratio = 0.333333333;
  PruningScope neuron_scope = PruningScope::global;
  double module_ratio = 0.75;  // global over all PEFT modules
  double rank_ratio = 0.5;     // global over the ranks of the surviving modules
  std::string importance = "mask";  // mask | taylor: how the foundation scores were made (recorded)
};
// Throws lightpeft::Error naming `origin` and the field for a ratio outside [0, 1] or an unknown
// importance.
void validate_pruning_options(const PruningOptions& options, const std::string& origin);

// The PEFT importances of the estimate stage (module_importance.h, rank_importance.h).
struct PeftScores {
  std::map<std::string, float> modules;         // module path -> importance
  std::map<std::string, torch::Tensor> ranks;   // module path -> (r) float32
};

struct PruningScores {
  FoundationScores foundation;  // empty vectors: no foundation pruning (ratios must be 0 then)
  PeftScores peft;
};

// One granularity (heads or neurons) in one layer.
struct UnitDecision {
  std::vector<float> scores;       // one per unit of the unpruned layer
  std::optional<double> threshold;  // absent when nothing was pruned by rule (ratio 0)
  std::vector<int64_t> kept;       // ascending indices of the kept units
  int64_t size() const { return static_cast<int64_t>(scores.size()); }
};

struct LayerDecision {
  UnitDecision heads;
  UnitDecision neurons;
};

struct ModuleDecision {
  std::string path;                 // "roberta.encoder.layer.0.attention.self.query"
  float score = 0.0f;               // module importance
  bool kept = true;                 // survived module pruning
  std::vector<float> rank_scores;   // one per rank of the estimate-stage module
  std::vector<int64_t> kept_ranks;  // ascending; empty for a pruned module or one losing all ranks
  int64_t rank() const { return static_cast<int64_t>(rank_scores.size()); }
  // True when the module keeps a LoRA/adapter after pruning.
  bool has_peft() const { return kept && !kept_ranks.empty(); }
};

struct PruningPlan {
  PruningOptions options;
  std::vector<LayerDecision> layers;
  std::vector<ModuleDecision> modules;   // in path order
  std::optional<double> module_threshold;  // absent: no module pruning
  std::optional<double> rank_threshold;    // absent: no rank pruning

  const ModuleDecision* find_module(const std::string& path) const;
  int64_t heads_before() const;
  int64_t heads_after() const;
  int64_t neurons_before() const;
  int64_t neurons_after() const;
  int64_t modules_with_peft() const;
  int64_t ranks_before() const;
  int64_t ranks_after() const;
  // One line for the log: "heads 24 -> 16, neurons 80 -> 53, PEFT modules 12 -> 3, ranks ...".
  std::string summary() const;
};

// How much two plans agree, per granularity (attention units and neurons as (layer, index); modules
// that keep PEFT; ranks as (module, index)), by one of two measures. estimate_steps: auto stops when
// they stay high.
struct PlanOverlap {
  double heads = 1, neurons = 1, modules = 1, ranks = 1;
  double min() const;
};
// The Jaccard overlap |A n B| / |A u B| of the kept sets; 1 where both keep nothing. On a small kept
// set one swapped unit costs a lot (2 / (k + 1): 0.04 of 48 heads, 0.2 of 9 modules), so between
// two near-tied candidates it flickers below any high threshold.
PlanOverlap plan_overlap(const PruningPlan& a, const PruningPlan& b);
// The fraction of candidates (every unit, module and rank of the unpruned model) whose keep/prune
// decision is the same in both plans: 1 - the normalised Hamming distance of the two keep masks,
// the mask distance Early-Bird tickets (You et al., ICLR 2020) stop on. One swap costs 2 / n of the
// n candidates; 1 where there are none.
PlanOverlap plan_agreement(const PruningPlan& a, const PruningPlan& b);

// Applies the rule to the scores. Foundation scores need one head and one neuron vector per layer
// (unless both ratios are 0); every module with a rank score needs a module score and vice versa
// (unless the module ratio is 0, then module scores may be absent). Throws lightpeft::Error for
// inconsistent or non-finite scores.
PruningPlan make_plan(const PruningScores& scores, const PruningOptions& options);

// The plan as JSON ("format": "lightpeft-pruning-plan", "version": 1). Numbers are written with
// enough digits to read back bit-exactly, so a loaded plan compares equal.
std::string pruning_plan_to_json(const PruningPlan& plan);
// Parses and validates: every key present with the right type, ratios in [0, 1], kept indices
// ascending, distinct and in range, a pruned module keeping no ranks, module paths distinct. Errors
// name `origin` and the key ("plan.json: layers[1].heads.kept[2]: ...").
PruningPlan parse_pruning_plan(const std::string& json_text, const std::string& origin);
// Atomic write (io/atomic_file.h) and read of a plan file.
void save_pruning_plan(const PruningPlan& plan, const std::filesystem::path& file);
PruningPlan load_pruning_plan(const std::filesystem::path& file);

inline constexpr const char* kPruningPlanFile = "pruning_plan.json";

}  // namespace lightpeft
