// Micro benchmarks (Google Benchmark) of the three pieces Light-PEFT changes, at all-MiniLM-L6-v2's
// width (hidden 384, 12 heads, d_ff 1536), batch 8 x seq 128, forward + backward (training):
//   BM_LoraLinear/<r>          a 384x384 linear, r = 0 (plain Dense) vs LoRA r = 8 (frozen base)
//   BM_LoraBaseAFusion/<f>     LoRA r = 8 without dropout, 0: lightpeft's LoraLinear (base and A as
//                              two GEMMs), 1: base and A as one GEMM x [W; A]^T whose backward
//                              computes only A's gradient (issue 27's fused-forward lever, measured
//                              before it is built: it only applies where lora_dropout is 0)
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
#include <ATen/ops/addmm.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/zeros.h>
#include <ATen/ops/zeros_like.h>
#include <torch/autograd.h>
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

// base(x) and A(x) from one GEMM against [W; A] (W frozen, A's rows copied in each step: r x in
// floats), returned as two views; the backward computes x's gradient with one GEMM and A's alone
// (autograd through a cat would also compute the frozen W's gradient).
struct BaseAndLoraA : torch::autograd::Function<BaseAndLoraA> {
  // x: (tokens, in); w_and_a: (out + r, in); bias_and_zeros: (out + r). Returns (tokens, out) and
  // (tokens, r) views of one (tokens, out + r) result.
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const at::Tensor& x,
                                                at::Tensor w_and_a, const at::Tensor& bias_and_zeros,
                                                const at::Tensor& a) {
    const int64_t out = w_and_a.size(0) - a.size(0);
    w_and_a.narrow(0, out, a.size(0)).copy_(a);
    ctx->save_for_backward({x, w_and_a});
    ctx->saved_data["out"] = out;
    const at::Tensor y = at::addmm(bias_and_zeros, x, w_and_a.t());
    return {y.narrow(1, 0, out), y.narrow(1, out, a.size(0))};
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w_and_a = saved[1];
    const int64_t out = ctx->saved_data["out"].toInt(), r = w_and_a.size(0) - out;
    const at::Tensor g_a = grads[1].defined() ? grads[1] : at::zeros_like(grads[0].narrow(-1, 0, r));
    const at::Tensor g = at::cat({grads[0], g_a}, -1);
    return {g.mm(w_and_a), at::Tensor(), at::Tensor(), g_a.t().mm(x)};
  }
};

void BM_LoraBaseAFusion(benchmark::State& state) {
  pin_threads();
  torch::manual_seed(0);
  constexpr int64_t kRank = 8;
  constexpr double kScaling = 16.0 / kRank;
  lightpeft::Dense dense(kHidden, kHidden);
  for (auto& p : dense->parameters()) p.set_requires_grad(false);
  lightpeft::LoraLinear lora(dense, kRank, 16.0);
  for (auto& p : lora->named_parameters())
    if (p.key().find("lora_B") != std::string::npos) p.value().data().normal_(0, 0.02);  // B != 0: its path runs
  const at::Tensor w = dense->weight, bias = dense->bias;
  const at::Tensor a = lora->named_parameters()["lora_A.weight"], b = lora->named_parameters()["lora_B.weight"];
  at::Tensor w_and_a = at::cat({w, a.detach()}, 0), bias_and_zeros = at::cat({bias, at::zeros({kRank})});
  auto x = at::randn({kBatch, kSeq, kHidden}).requires_grad_();
  auto step = [&](bool fused) {
    if (!fused) return lora->forward(x);
    // The B update as LoraLinear's epilogue (one addmm with alpha = scaling).
    const auto parts = BaseAndLoraA::apply(x.view({kBatch * kSeq, kHidden}), w_and_a, bias_and_zeros, a);
    return at::addmm(parts[0], parts[1], b.t(), 1.0, kScaling).view({kBatch, kSeq, kHidden});
  };
  // Both variants compute the same output and gradients (else the timing compares nothing).
  std::vector<at::Tensor> reference;
  for (bool fused : {false, true}) {
    const at::Tensor y = step(fused);
    y.sum().backward();
    const std::vector<at::Tensor> got = {y.detach(), x.grad().clone(), a.grad().clone(), b.grad().clone()};
    x.mutable_grad().reset();
    a.mutable_grad().reset();
    b.mutable_grad().reset();
    if (reference.empty()) {
      reference = got;
      continue;
    }
    for (size_t i = 0; i < got.size(); ++i)
      if (!at::allclose(got[i], reference[i], 1e-4, 1e-5)) state.SkipWithError("fused LoRA differs from LoraLinear");
  }
  for (auto _ : state) {
    const at::Tensor y = step(state.range(0) == 1);
    y.sum().backward();
    benchmark::DoNotOptimize(x.grad());
    x.mutable_grad().reset();
    a.mutable_grad().reset();
    b.mutable_grad().reset();
  }
}
BENCHMARK(BM_LoraBaseAFusion)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

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
