// One process, one measurement, on a decoder LLM (SmolLM2-135M-Instruct from its GGUF by default):
// a LoRA train step (forward + causal LM loss + backward + clip + AdamW), an inference forward, or
// greedy generation; with --prune, the model first pruned at Light-PEFT's default ratios (a plan
// made from random importances: step time depends on the shapes, not on which units go). Prints one
// JSON line; benchmarks/hf_decoder_step.py is its HF transformers + peft twin and
// benchmarks/bench_decoder_vs_hf.py runs both, interleaved.
//
//   bench_decoder_step --mode train|infer|generate [--model PATH] [--batch 8] [--seq 128]
//                      [--threads 2] [--warmup 2] [--steps 5] [--new-tokens 32] [--targets q_proj,v_proj]
//                      [--prune] [--merge] [--dtype fp32|bf16] [--base-dtype fp32|bf16] [--checkpointing]
//                      [--profile TRACE.json]
// --dtype bf16: the step under bf16 autocast (the CLI's `dtype: bf16`); --base-dtype bf16: frozen
// linears stored in bf16 (the CLI's `base_dtype: bf16`); --merge (infer, generate): LoRA folded
// into the base weights, as `lightpeft predict` and `generate --run` do; --profile: the timed steps
// as a Chrome trace of CPU ops (step_profiler.h), to compare with hf_decoder_step.py --profile.
#include <sys/resource.h>

#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/core/allocator.h"
#include "lightpeft/generation/generate.h"
#include "lightpeft/io/model_path.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "lightpeft/tasks/causal_lm_task.h"
#include "bench_dtypes.h"
#include "random_plan.h"
#include "step_profiler.h"
#include "lightpeft/train/optimizer.h"
#include "lightpeft/train/runtime.h"

namespace {

using namespace lightpeft;

int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;  // Linux: KiB
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  lightpeft::tune_malloc_for_tensors();
  std::string mode = "train", model_path, targets = "q_proj,v_proj", base_dtype = "fp32",
              dtype = "fp32", profile;
  int64_t batch = 8, seq = 128, threads = 2, warmup = 2, steps = 5, new_tokens = 32;
  bool prune = false, checkpointing = false, merge = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(k + " needs a value");
      return argv[++i];
    };
    if (k == "--mode") mode = value();
    else if (k == "--model") model_path = value();
    else if (k == "--batch") batch = std::stoll(value());
    else if (k == "--seq") seq = std::stoll(value());
    else if (k == "--threads") threads = std::stoll(value());
    else if (k == "--warmup") warmup = std::stoll(value());
    else if (k == "--steps") steps = std::stoll(value());
    else if (k == "--new-tokens") new_tokens = std::stoll(value());
    else if (k == "--targets") targets = value();
    else if (k == "--base-dtype") base_dtype = value();
    else if (k == "--dtype") dtype = value();
    else if (k == "--prune") prune = true;
    else if (k == "--merge") merge = true;
    else if (k == "--checkpointing") checkpointing = true;
    else if (k == "--profile") profile = value();
    else {
      std::cerr << "bench_decoder_step: unknown option " << k << "\n";
      return 2;
    }
  }
  if (!bench::check_dtypes("bench_decoder_step", dtype, base_dtype)) return 2;
  Runtime rt;
  if (dtype == "bf16") rt.autocast_dtype = at::kBFloat16;
  at::set_num_threads(static_cast<int>(threads));
  at::set_num_interop_threads(1);
  torch::manual_seed(0);
  if (model_path.empty()) {
    const char* home = std::getenv("HOME");
    model_path = std::string(home ? home : "") + "/.cache/lightpeft/models/SmolLM2-135M-Instruct";
  }
  PretrainedOptions options;
  options.head = HeadKind::causal_lm;
  TaskModel model = load_pretrained(model_path, options).model;
  model->backbone().set_gradient_checkpointing(checkpointing);
  LoraConfig lora;
  lora.r = 8;
  lora.lora_alpha = 16;
  lora.lora_dropout = 0.05;
  lora.task_type = "CAUSAL_LM";
  lora.target_modules = TargetModules::list(split(targets));
  PeftModel peft = inject_lora(model, lora);
  if (prune) apply_plan(peft, bench::random_plan(peft));
  if (merge) {
    if (mode == "train") throw std::runtime_error("--merge is for infer and generate: a merged model has no LoRA to train");
    merge_and_unload(peft);
  }
  if (base_dtype == "bf16") store_frozen_linears_as(*peft.model, at::kBFloat16);

  const int64_t vocab = model->config().vocab_size;
  ModelInputs in;
  in.input_ids = at::randint(100, vocab, {batch, seq}, at::kLong);
  in.attention_mask = at::ones({batch, seq}, at::kLong);
  ModelInputs train_in = in;
  request_causal_lm_loss(train_in, in.input_ids);  // loss on every position, as hf_decoder_step.py

  OptimConfig optim;
  optim.learning_rate = 1e-4;
  optim.weight_decay = 0.01;
  std::unique_ptr<Optimizer> optimizer;
  if (mode == "train") {
    peft.model->train();
    optimizer = std::make_unique<Optimizer>(default_param_groups(*peft.model, optim), optim);
  } else {
    peft.model->eval();
  }
  const int64_t rss_before = peak_rss_bytes();
  std::vector<double> times;
  int64_t generated = 0;
  bench::StepProfiler profiler(profile);
  for (int64_t s = 0; s < warmup + steps; ++s) {
    profiler.before_step(s, warmup);
    const auto t0 = std::chrono::steady_clock::now();
    AutocastScope autocast(rt);
    if (mode == "train") {
      auto loss = peft.forward(train_in).loss;  // as the trainer's causal LM task asks for it
      loss.backward();
      optimizer->clip_grad_norm(optim.max_grad_norm);
      optimizer->step();
      optimizer->zero_grad();
    } else if (mode == "infer") {
      torch::NoGradGuard no_grad;
      (void)peft.forward(in).logits.sum().item<float>();
    } else {
      std::vector<std::vector<int64_t>> prompts;
      for (int64_t b = 0; b < batch; ++b) {
        auto row = in.input_ids[b].narrow(0, 0, seq).contiguous();
        prompts.emplace_back(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + seq);
      }
      GenerationConfig g;
      g.max_new_tokens = new_tokens;
      g.eos_token_ids = {-1};  // never stop early: every run generates the same count
      const auto r = generate(*peft.model, prompts, g);
      if (s >= warmup) generated += r.new_tokens;
    }
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (s >= warmup) times.push_back(dt);
  }
  profiler.save();
  int64_t trainable = 0;
  for (const auto& p : peft.model->parameters())
    if (p.requires_grad()) trainable += p.numel();
  nlohmann::json out = {{"impl", "lightpeft"}, {"mode", mode}, {"batch", batch}, {"seq", seq},
                        {"threads", threads}, {"dtype", dtype},
                        {"base_dtype", base_dtype}, {"step_seconds", times}, {"new_tokens", generated},
                        {"rss_before_steps_bytes", rss_before}, {"peak_rss_bytes", peak_rss_bytes()},
                        {"total_parameters", count_parameters(*peft.model)},
                        {"trainable_parameters", trainable}, {"pruned", prune}, {"merged", merge},
                        {"model_dir", resolve_model_dir(model_path).string()}};
  std::cout << out.dump() << std::endl;
  return 0;
}
