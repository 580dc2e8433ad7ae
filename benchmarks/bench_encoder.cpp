// Micro benchmarks of the encoder pieces Light-PEFT changes (Google Benchmark):
//   BM_EncoderForward/<heads kept per layer>  forward of a BERT-mini-shaped classifier (4 layers,
//                                             hidden 256) at batch 8 x seq 128, unpruned vs pruned
//   BM_LoraLinear/<r>                         a 256x256 LoraLinear forward, r = 0 (plain) vs 8
// Run: build/bin/bench_encoder --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <ATen/Parallel.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <torch/utils.h>

#include "lightpeft/models/task_model.h"
#include "lightpeft/peft/lora_linear.h"

namespace {

lightpeft::ModelConfig mini(int64_t heads_kept, int64_t ffn_kept) {
  lightpeft::ModelConfig c;
  c.vocab_size = 30522;
  c.hidden_size = 256;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.intermediate_size = 1024;
  c.attention_units_per_layer.assign(4, heads_kept);
  c.intermediate_per_layer.assign(4, ffn_kept);
  return c;
}

void BM_EncoderForward(benchmark::State& state) {
  const int64_t heads = state.range(0);
  torch::manual_seed(0);
  auto model = lightpeft::make_task_model(mini(heads, heads * 256), lightpeft::HeadKind::sequence_classification);
  model->eval();
  lightpeft::ModelInputs in;
  in.input_ids = at::randint(1000, 30000, {8, 128}, at::kLong);
  in.attention_mask = at::ones({8, 128}, at::kLong);
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(in).logits);
  state.counters["params"] = static_cast<double>(lightpeft::count_parameters(*model));
  state.counters["seq/s"] = benchmark::Counter(8.0 * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_EncoderForward)->Arg(4)->Arg(3)->Arg(2)->Unit(benchmark::kMillisecond);

void BM_LoraLinear(benchmark::State& state) {
  torch::manual_seed(0);
  lightpeft::LoraLinear lora(lightpeft::Dense(256, 256), state.range(0), 16.0);
  lora->eval();
  auto x = at::randn({8, 128, 256});
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(lora->forward(x));
}
BENCHMARK(BM_LoraLinear)->Arg(0)->Arg(8)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
