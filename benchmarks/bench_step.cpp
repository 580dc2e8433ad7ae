// One process, one measurement: lightpeft's LoRA train step (forward + backward + clip + AdamW, as
// run_train_loop takes it) or inference forward, on a BERT classifier, with times per step and the
// process's peak RSS printed as one JSON line. benchmarks/hf_step.py is its HF transformers + peft
// twin; benchmarks/bench_vs_hf.py runs both, interleaved, and prints the ratios.
//
//   bench_step --mode train|infer [--model DIR] [--batch 8] [--seq 128] [--threads 2]
//              [--warmup 2] [--steps 10] [--dtype fp32|bf16] [--base-dtype fp32|bf16] [--prune] [--merge]
//              [--profile TRACE.json] [--estimate]
// Model: DIR (HF layout, e.g. ~/.cache/lightpeft/models/all-MiniLM-L6-v2) or, when DIR is absent,
// a random-init model of all-MiniLM-L6-v2's shape ("random_init": true in the output).
// LoRA: the Light-PEFT spec's defaults, r 8, alpha 16, dropout 0.05 on query, key, value and the
// three dense layers; the classifier trainable. Train mode (dropout on) for train, eval for infer.
// --dtype bf16: the step under bf16 autocast (the CLI's `dtype: bf16`); --base-dtype bf16: frozen
// linears stored in bf16 (the CLI's `base_dtype: bf16`); --prune: the model pruned first at
// Light-PEFT's default ratios (random_plan.h); --merge (infer only): LoRA folded into the base
// weights, as `lightpeft predict` does; --profile: the timed steps under LibTorch's profiler (CPU
// ops), written as a Chrome trace to compare op by op with hf_step.py --profile; --estimate (train):
// Light-PEFT's estimate step instead (masks trained, module and rank importance recorded), to set
// against the plain LoRA step of the same model.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/core/allocator.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/pruning/foundation_masks.h"
#include "lightpeft/pruning/module_importance.h"
#include "lightpeft/pruning/rank_importance.h"
#include "lightpeft/train/optimizer.h"
#include "lightpeft/train/runtime.h"
#include "lightpeft/train/train_config.h"
#include "bench_dtypes.h"
#include "random_plan.h"
#include "step_profiler.h"

namespace {

namespace fs = std::filesystem;
using namespace lightpeft;

int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;  // Linux: KiB
}

ModelConfig minilm_shape() {
  ModelConfig c;
  c.model_type = "bert";
  c.vocab_size = 30522;
  c.hidden_size = 384;
  c.num_hidden_layers = 6;
  c.num_attention_heads = 12;
  c.intermediate_size = 1536;
  c.max_position_embeddings = 512;
  c.num_labels = 2;
  c.attention_units_per_layer.assign(6, 12);
  c.intermediate_per_layer.assign(6, 1536);
  return c;
}

}  // namespace

int main(int argc, char** argv) {
  lightpeft::tune_malloc_for_tensors();  // as the lightpeft CLI does
  std::string mode = "train", dtype = "fp32", base_dtype = "fp32";
  fs::path model_dir, profile;
  int64_t batch = 8, seq = 128, threads = 2, warmup = 2, steps = 10;
  bool prune = false, merge = false, estimate = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--prune") {
      prune = true;
      continue;
    }
    if (k == "--estimate") {
      estimate = true;
      continue;
    }
    if (k == "--merge") {
      merge = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::cerr << "bench_step: " << k << " needs a value\n";
      return 2;
    }
    const std::string v = argv[++i];
    if (k == "--mode") mode = v;
    else if (k == "--model") model_dir = v;
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--seq") seq = std::stoll(v);
    else if (k == "--threads") threads = std::stoll(v);
    else if (k == "--warmup") warmup = std::stoll(v);
    else if (k == "--steps") steps = std::stoll(v);
    else if (k == "--dtype") dtype = v;
    else if (k == "--base-dtype") base_dtype = v;
    else if (k == "--profile") profile = v;
    else {
      std::cerr << "bench_step: unknown option " << k << "\n";
      return 2;
    }
  }
  if (mode != "train" && mode != "infer") {
    std::cerr << "bench_step: --mode must be train or infer\n";
    return 2;
  }
  if (estimate && (mode != "train" || prune || merge)) {
    std::cerr << "bench_step: --estimate is a train step of the unpruned, unmerged model\n";
    return 2;
  }
  if (!bench::check_dtypes("bench_step", dtype, base_dtype)) return 2;
  Runtime rt;
  if (dtype == "bf16") rt.autocast_dtype = at::kBFloat16;
  at::set_num_threads(static_cast<int>(threads));
  at::set_num_interop_threads(1);
  torch::manual_seed(0);

  const bool random_init = model_dir.empty() || !fs::exists(model_dir / "config.json");
  TaskModel model = random_init ? make_task_model(minilm_shape(), HeadKind::sequence_classification)
                                         : load_pretrained(model_dir, {HeadKind::sequence_classification, 2}).model;
  LoraConfig lora;
  lora.r = 8;
  lora.lora_alpha = 16;
  lora.lora_dropout = 0.05;
  lora.target_modules = TargetModules::list(
      {"query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"});
  PeftModel peft = inject_lora(model, lora);
  if (prune) apply_plan(peft, bench::random_plan(peft));
  if (merge) {
    if (mode == "train") {
      std::cerr << "bench_step: --merge is for infer: a merged model has no LoRA to train\n";
      return 2;
    }
    merge_and_unload(peft);
  }
  if (base_dtype == "bf16") store_frozen_linears_as(*peft.model, at::kBFloat16);

  ModelInputs in;
  in.input_ids = at::randint(1000, 30000, {batch, seq}, at::kLong);
  in.attention_mask = at::ones({batch, seq}, at::kLong);
  in.token_type_ids = at::zeros({batch, seq}, at::kLong);
  auto labels = at::randint(0, 2, {batch}, at::kLong);

  OptimConfig optim;
  optim.learning_rate = 1e-4;
  optim.weight_decay = 0.01;
  std::unique_ptr<Optimizer> optimizer;
  // --estimate: Light-PEFT's estimate step as `lightpeft train` runs it (stages/estimate.cpp): head
  // and FFN masks trained with their L1 penalty, at the config's defaults (lambda, learning-rate
  // multipliers), PEFT module and rank importance recorded every step.
  const LightPeftSection light_peft;
  FoundationMasks masks{nullptr};
  std::unique_ptr<ModuleImportance> module_importance;
  std::unique_ptr<RankImportance> rank_importance;
  if (mode == "train") {
    peft.model->train();
    std::vector<ParamGroup> groups = default_param_groups(*peft.model, optim);
    if (estimate) {
      masks = FoundationMasks(peft.model->config());
      masks->set_trainable(true);
      for (const auto& g : masks->parameter_groups(light_peft.head_mask_lr_multiplier, light_peft.ffn_mask_lr_multiplier))
        groups.push_back({g.name, g.parameters, optim.learning_rate * g.lr_multiplier, g.weight_decay});
      module_importance = std::make_unique<ModuleImportance>(peft, 1);
      rank_importance = std::make_unique<RankImportance>(peft, 1);
      module_importance->attach();
    }
    optimizer = std::make_unique<Optimizer>(std::move(groups), optim);
  } else {
    peft.model->eval();
  }
  const int64_t rss_before = peak_rss_bytes();

  bench::StepProfiler profiler(profile.string());
  std::vector<double> times;
  for (int64_t s = 0; s < warmup + steps; ++s) {
    profiler.before_step(s, warmup);
    const auto t0 = std::chrono::steady_clock::now();
    if (mode == "train") {
      at::Tensor loss;
      if (estimate) module_importance->begin_step(s, in.attention_mask);
      {
        AutocastScope autocast(rt);
        auto logits = estimate ? peft.forward(in, masks->layer_masks()).logits : peft.forward(in).logits;
        loss = sequence_classification_loss(peft.model->config(), logits, labels);
        if (estimate) loss = loss + masks->l1_penalty() * light_peft.l1_lambda;
      }
      loss.backward();
      if (estimate) {
        rank_importance->accumulate(s);
        module_importance->end_step();
      }
      optimizer->clip_grad_norm(optim.max_grad_norm);
      optimizer->step();
      optimizer->zero_grad();
    } else {
      torch::NoGradGuard no_grad;
      AutocastScope autocast(rt);
      auto logits = peft.forward(in).logits;
      (void)logits.sum().item<float>();
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= warmup) times.push_back(dt);
  }
  profiler.save();
  int64_t trainable = 0;
  for (const auto& p : peft.model->parameters())
    if (p.requires_grad()) trainable += p.numel();
  nlohmann::json out = {{"impl", "lightpeft"},
                        {"mode", mode},
                        {"batch", batch},
                        {"seq", seq},
                        {"threads", threads},
                        {"dtype", dtype},
                        {"base_dtype", base_dtype},
                        {"random_init", random_init},
                        {"pruned", prune},
                        {"merged", merge},
                        {"estimate", estimate},
                        {"step_seconds", times},
                        {"rss_before_steps_bytes", rss_before},
                        {"peak_rss_bytes", peak_rss_bytes()},
                        {"total_parameters", count_parameters(*peft.model)},
                        {"trainable_parameters", trainable}};
  std::cout << out.dump() << std::endl;
  return 0;
}
