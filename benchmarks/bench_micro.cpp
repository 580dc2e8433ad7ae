// Micro benchmarks (Google Benchmark) of the three pieces Light-PEFT changes, at all-MiniLM-L6-v2's
// width (hidden 384, 12 heads, d_ff 1536), batch 8 x seq 128, forward + backward (training):
//   BM_LoraLinear/<r>          a 384x384 linear, r = 0 (plain Dense) vs LoRA r = 8 (frozen base)
//   BM_MaskedAttention/<mask>  self-attention, 0: no head mask, 1: a trainable (1, H, 1, 1) HeadMask
//                              (the estimate stage's overhead per attention block)
//   BM_PrunedFfn/<neurons>     one transformer layer with d_ff 1536 (unpruned) vs 512 (1/3 kept, the
//                              spec's default ratio), through keep_mlp_neurons as pruning does
// Threads: at::set_num_threads(LIGHTPEFT_BENCH_THREADS or 2).
// Run: build/bin/bench_micro --benchmark_counters_tabular=true   (benchmarks/micro_ratios.py prints
// the ratios of each family to its baseline)
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <numeric>

#include <ATen/Parallel.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <torch/utils.h>

#include "lightpeft/models/attention.h"
#include "lightpeft/models/encoder.h"
#include "lightpeft/peft/lora_linear.h"

namespace {

constexpr int64_t kBatch = 8, kSeq = 128, kHidden = 384, kHeads = 12, kFfn = 1536;

void pin_threads() {
  const char* env = std::getenv("LIGHTPEFT_BENCH_THREADS");
  at::set_num_threads(env ? std::atoi(env) : 2);
}

lightpeft::ModelConfig minilm_width() {
  lightpeft::ModelConfig c;
  c.hidden_size = kHidden;
  c.num_hidden_layers = 1;
  c.num_attention_heads = kHeads;
  c.intermediate_size = kFfn;
  c.hidden_dropout_prob = 0.0;
  c.attention_probs_dropout_prob = 0.0;
  c.attention_units_per_layer = {kHeads};
  c.intermediate_per_layer = {kFfn};
  return c;
}

void BM_LoraLinear(benchmark::State& state) {
  pin_threads();
  torch::manual_seed(0);
  lightpeft::Dense dense(kHidden, kHidden);
  for (auto& p : dense->parameters()) p.set_requires_grad(false);
  lightpeft::LoraLinear lora(dense, state.range(0), 16.0);
  auto x = at::randn({kBatch, kSeq, kHidden}).requires_grad_();
  for (auto _ : state) {
    auto y = state.range(0) == 0 ? dense->forward(x) : lora->forward(x);
    y.sum().backward();
    benchmark::DoNotOptimize(x.grad());
    x.mutable_grad().reset();
    for (auto& p : lora->parameters()) p.mutable_grad().reset();
  }
}
BENCHMARK(BM_LoraLinear)->Arg(0)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MaskedAttention(benchmark::State& state) {
  pin_threads();
  torch::manual_seed(0);
  auto config = minilm_width();
  lightpeft::SelfAttention attn(config, kHeads);
  auto x = at::randn({kBatch, kSeq, kHidden}).requires_grad_();
  auto additive = at::zeros({kBatch, 1, 1, kSeq});
  at::Tensor mask;
  if (state.range(0) == 1) mask = at::ones({1, kHeads, 1, 1}).requires_grad_();
  for (auto _ : state) {
    attn->forward(x, additive, mask).sum().backward();
    benchmark::DoNotOptimize(x.grad());
    x.mutable_grad().reset();
    if (mask.defined()) mask.mutable_grad().reset();
    for (auto& p : attn->parameters()) p.mutable_grad().reset();
  }
}
BENCHMARK(BM_MaskedAttention)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PrunedFfn(benchmark::State& state) {
  pin_threads();
  torch::manual_seed(0);
  lightpeft::TransformerLayer layer(minilm_width(), 0);
  if (state.range(0) < kFfn) {
    std::vector<int64_t> keep(state.range(0));
    std::iota(keep.begin(), keep.end(), 0);
    layer->keep_mlp_neurons(keep);
  }
  auto x = at::randn({kBatch, kSeq, kHidden}).requires_grad_();
  auto additive = at::zeros({kBatch, 1, 1, kSeq});
  for (auto _ : state) {
    layer->forward(x, additive, {}).sum().backward();
    benchmark::DoNotOptimize(x.grad());
    x.mutable_grad().reset();
    for (auto& p : layer->parameters()) p.mutable_grad().reset();
  }
  state.counters["d_ff"] = static_cast<double>(layer->mlp_neurons().count);
}
BENCHMARK(BM_PrunedFfn)->Arg(kFfn)->Arg(kFfn / 3)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
