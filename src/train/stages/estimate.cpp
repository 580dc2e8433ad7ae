#include "lightpeft/train/stages/estimate.h"

#include <chrono>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/core/crash_point.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/distributed/process_group.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/pruning/foundation_importance.h"
#include "lightpeft/pruning/foundation_masks.h"
#include "lightpeft/pruning/module_importance.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "lightpeft/pruning/rank_importance.h"
#include "lightpeft/train/stages/prune.h"

namespace lightpeft {
namespace fs = std::filesystem;
namespace {

const char* kScoresFile = "importance.safetensors";
const char* kWeightsFile = "peft_weights.safetensors";
const char* kDoneFile = "done.json";

// All scores in one flat safetensors file: heads.<l>, neurons.<l>, module.<path> (a 1-element
// tensor) and rank.<path>.
StateDict scores_to_tensors(const PruningScores& s) {
  StateDict t;
  for (size_t l = 0; l < s.foundation.heads.size(); ++l) {
    t["heads." + std::to_string(l)] = s.foundation.heads[l].contiguous();
    t["neurons." + std::to_string(l)] = s.foundation.neurons[l].contiguous();
  }
  for (const auto& [path, v] : s.peft.modules) t["module." + path] = at::full({1}, v, at::kFloat);
  for (const auto& [path, v] : s.peft.ranks) t["rank." + path] = v.to(at::kCPU).contiguous();
  return t;
}

PruningScores scores_from_tensors(const StateDict& t, int64_t layers, const std::string& origin) {
  PruningScores s;
  for (int64_t l = 0; l < layers; ++l) {
    auto h = t.find("heads." + std::to_string(l)), n = t.find("neurons." + std::to_string(l));
    LP_CHECK(h != t.end() && n != t.end(), origin, ": missing the scores of layer ", l);
    s.foundation.heads.push_back(h->second);
    s.foundation.neurons.push_back(n->second);
  }
  for (const auto& [key, v] : t) {
    if (key.rfind("module.", 0) == 0) s.peft.modules[key.substr(7)] = v.item<float>();
    if (key.rfind("rank.", 0) == 0) s.peft.ranks[key.substr(5)] = v;
  }
  return s;
}

}  // namespace

PeftModel make_light_peft_model(const Session& session) {
  // Reseeded so that a restarted stage builds the same PEFT initialisation.
  torch::manual_seed(static_cast<uint64_t>(session.config.seed));
  const bool adapters = session.config.light_peft.peft == PeftKind::adapter;
  return inject_peft(load_task_model(session), session.config, adapters);
}

EstimateResult run_estimate(Session& session) {
  const TrainConfig& c = session.config;
  const LightPeftSection& lp = c.light_peft;
  const fs::path dir = session.stage_dir("estimate");
  EstimateResult result;
  if (fs::exists(dir / kDoneFile)) {
    log::info("estimate: already done in ", dir.string(), "; reusing its scores and weights");
    const int64_t layers = load_model_config(c.model).num_hidden_layers;
    result.scores = scores_from_tensors(load_safetensors(dir / kScoresFile), layers,
                                        (dir / kScoresFile).string());
    result.peft_weights = load_safetensors(dir / kWeightsFile);
    result.reused = true;
    std::ifstream done(dir / kDoneFile);
    std::stringstream text;
    text << done.rdbuf();
    const auto j = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.contains("seconds")) result.seconds = j["seconds"].get<double>();
    if (j.is_object() && j.contains("steps")) result.steps = j["steps"].get<int64_t>();
    if (j.is_object() && j.contains("stop_reason")) result.stop_reason = j["stop_reason"].get<std::string>();
    if (j.is_object() && j.contains("train_seconds")) result.train_seconds = j["train_seconds"].get<double>();
    if (j.is_object() && j.contains("peak_cpu_rss_bytes"))
      result.peak_cpu_rss_bytes = j["peak_cpu_rss_bytes"].get<int64_t>();
    return result;
  }
  fs::create_directories(dir);
  reset_peak_memory(session.runtime);
  const auto started = std::chrono::steady_clock::now();

  PeftModel peft = make_light_peft_model(session);
  auto& model = *peft.model;
  if (lp.estimate_base_dtype == BaseDtype::bf16 && c.base_dtype != BaseDtype::bf16) {
    const int64_t n = store_frozen_linears_as(model, at::kBFloat16);
    log::info("estimate: ", n, " frozen linear layers stored in bf16 for this stage only (light_peft.estimate_base_dtype)");
  }
  if (lp.estimate_gradient_checkpointing) model.backbone().set_gradient_checkpointing(true);
  FoundationMasks masks(model.config());
  masks->to(session.runtime.device);
  masks->set_trainable(true);
  const bool automatic = lp.estimate_steps.automatic;
  // With auto the length is unknown: the schedule runs to estimate_max_steps, every step is
  // recorded, and the PEFT scores average over the second half of the steps actually taken.
  const int64_t total = automatic ? lp.estimate_max_steps : lp.estimate_steps.steps;
  log::info("estimate: ", automatic ? "auto (until the pruning decisions are stable, at most " : "",
            total, automatic ? " steps)" : " steps", ", lambda ", lp.l1_lambda, ", ",
            trainable_parameter_report(model), " + ", count_parameters(*masks), " mask scalars");

  // AdamW: PEFT + classifier groups, and the masks in groups of their own (no weight decay).
  std::vector<ParamGroup> groups = default_param_groups(model, c.training);
  for (const auto& g : masks->parameter_groups(lp.head_mask_lr_multiplier, lp.ffn_mask_lr_multiplier))
    groups.push_back({g.name, g.parameters, c.training.learning_rate * g.lr_multiplier, g.weight_decay});
  Optimizer optimizer(std::move(groups), c.training);

  ModuleImportance module_importance(peft, automatic ? 1 : total);  // 1: every step is recorded
  RankImportance rank_importance(peft, automatic ? 1 : total);
  std::optional<TaylorImportance> taylor;
  if (lp.importance == FoundationImportance::taylor) taylor.emplace(masks);
  module_importance.attach();
  if (auto* group = dist::default_group())  // the step values of the global batch on every rank
    module_importance.set_step_reducer([group](std::vector<torch::Tensor>& t) { group->all_reduce_sum(t); });

  LoopHooks hooks;
  hooks.masks = [&] { return masks->layer_masks(); };
  hooks.extra_loss = [&] { return masks->l1_penalty() * lp.l1_lambda; };
  hooks.before_forward = [&](int64_t step, int64_t micro, const ModelInputs& in) {
    if (micro == 0)
      module_importance.begin_step(step, in.attention_mask);
    else
      module_importance.set_attention_mask(in.attention_mask);
  };
  hooks.after_backward = [&](int64_t step) {
    rank_importance.accumulate(step);
    if (taylor) taylor->accumulate(lp.l1_lambda);
    module_importance.end_step();
  };
  // estimate_steps: auto. At every check: the plan the ratios would make now (foundation scores as
  // they are, PEFT scores over the second half of the steps so far), compared with the previous
  // check's; stop when every granularity agrees with it enough for `patience` checks in a row.
  struct Check {
    int64_t step;
    ModuleImportance::Snapshot modules;
    RankImportance::Snapshot ranks;
  };
  std::vector<Check> checks;
  std::optional<PruningPlan> previous;
  int64_t stable_checks = 0;
  const PruningOptions pruning = pruning_options(c);
  // PEFT scores over [the latest check at or before steps / 2, now].
  auto peft_scores = [&](int64_t steps, const ModuleImportance::Snapshot& m, const RankImportance::Snapshot& r) {
    const Check* from = &checks.front();
    for (const auto& ch : checks)
      if (ch.step <= steps / 2) from = &ch;
    PeftScores p;
    p.modules = module_importance.scores_between(from->modules, m);
    p.ranks = rank_importance.scores_between(from->ranks, r);
    return p;
  };
  if (automatic) {
    checks.push_back({0, module_importance.snapshot(), rank_importance.snapshot()});
    hooks.stop_after = [&](int64_t steps) {
      if (steps % lp.estimate_check_steps != 0) return false;
      checks.push_back({steps, module_importance.snapshot(), rank_importance.snapshot()});
      PruningScores now;
      now.foundation = taylor ? taylor->scores() : mask_value_scores(masks);
      now.peft = peft_scores(steps, checks.back().modules, checks.back().ranks);
      PruningPlan plan = make_plan(now, pruning);
      bool stop = false;
      if (previous) {
        const PlanOverlap a = plan_agreement(*previous, plan), o = plan_overlap(*previous, plan);
        const bool stable = a.min() >= lp.estimate_agreement && o.min() >= lp.estimate_overlap;
        stable_checks = stable ? stable_checks + 1 : 0;
        stop = steps >= lp.estimate_min_steps && stable_checks >= lp.estimate_patience;
        log::info("estimate step ", steps, ": decisions unchanged since step ", steps - lp.estimate_check_steps,
                  ": heads ", log::fixed(a.heads, 3), ", neurons ", log::fixed(a.neurons, 3), ", modules ",
                  log::fixed(a.modules, 3), ", ranks ", log::fixed(a.ranks, 3), " (Jaccard of the kept sets ",
                  log::fixed(o.heads, 3), ", ", log::fixed(o.neurons, 3), ", ", log::fixed(o.modules, 3), ", ",
                  log::fixed(o.ranks, 3), ")", stop ? ": stable, stopping" : "");
        if (session.metrics)
          session.metrics->write("estimate", steps,
                                 {{"agreement_heads", a.heads}, {"agreement_neurons", a.neurons},
                                  {"agreement_modules", a.modules}, {"agreement_ranks", a.ranks},
                                  {"overlap_heads", o.heads}, {"overlap_neurons", o.neurons},
                                  {"overlap_modules", o.modules}, {"overlap_ranks", o.ranks},
                                  {"stable_checks", static_cast<double>(stable_checks)}});
      }
      previous = std::move(plan);
      return stop;
    };
  }

  LoopSpec spec;
  spec.stage = "estimate";
  spec.dir = dir;
  spec.total_steps = total;
  spec.evaluate = false;
  // Importance statistics are not checkpointed, so the stage neither saves nor resumes mid-way: an
  // interrupted estimate starts again from step 0 (same seed, same data order, same result).
  spec.checkpoints = false;
  const LoopResult loop = run_train_loop(model, optimizer, session.loop_context(), spec, hooks);
  module_importance.detach();
  result.steps = loop.steps;
  result.train_seconds = loop.train_seconds;

  result.scores.foundation = taylor ? taylor->scores() : mask_value_scores(masks);
  if (automatic) {
    result.stop_reason = loop.steps < total ? "stable" : "max_steps";
    result.scores.peft = peft_scores(loop.steps, module_importance.snapshot(), rank_importance.snapshot());
    log::info("estimate: ", loop.steps, " steps (", result.stop_reason == "stable"
                                                          ? "the pruning decisions were stable"
                                                          : "estimate_max_steps reached before they were stable",
              ")");
  } else {
    result.scores.peft.modules = module_importance.scores();
    result.scores.peft.ranks = rank_importance.scores();
  }
  for (const auto& [k, v] : trainable_state(model)) result.peft_weights.emplace(k, v.detach().to(at::kCPU));

  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.peak_cpu_rss_bytes = peak_memory(session.runtime).cpu_rss_bytes;
  dist::run_on_main_process("writing the estimate stage's scores", [&] {
    save_safetensors(dir / kScoresFile, scores_to_tensors(result.scores));
    crash_point("estimate.write");
    save_safetensors(dir / kWeightsFile, result.peft_weights);
    write_text_atomic(dir / kDoneFile,
                      nlohmann::json({{"steps", result.steps},
                                      {"stop_reason", result.stop_reason},
                                      {"recorded_steps", rank_importance.recorded_steps()},
                                      {"seconds", result.seconds},
                                      {"train_seconds", result.train_seconds},
                                      {"peak_cpu_rss_bytes", result.peak_cpu_rss_bytes}})
                              .dump() + "\n");
  });
  log::info("estimate: done; scores in ", (dir / kScoresFile).string());
  return result;
}

}  // namespace lightpeft
