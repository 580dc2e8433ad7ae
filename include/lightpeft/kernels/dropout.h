#pragma once
// Dropout whose keep-mask on the CPU is drawn by a counter-based generator (Philox-4x32-10), in
// parallel, instead of ATen's CPU dropout, which draws every element's Bernoulli serially from
// mt19937: at all-MiniLM-L6-v2's size with LoRA dropout on six linears per layer, ATen's
// bernoulli_ alone was 35% of a LoRA train step (benchmarks/bench_step --profile).
//
//     y = x * keep / (1 - p),  keep ~ Bernoulli(1 - p) per element, independently
//
// The keep probability is exact to 2^-32 (a 32-bit uniform against (1 - p) * 2^32). Each call
// takes one 64-bit seed from the default CPU generator, so torch::manual_seed, a checkpoint's
// saved generator state (resume) and gradient checkpointing's replay (which restores that state)
// reproduce the same masks; the mask does not depend on the thread count. It is another draw
// than ATen's dropout for the same seed (as HF's and lightpeft's runs always were). CUDA tensors
// go to ATen's fused dropout.
#include <cstdint>

#include <ATen/core/Tensor.h>

namespace lightpeft::kernels {

// Throws lightpeft::Error unless p is in [0, 1] (NaN included): what dropout() checks at every
// call, and the Dropout module at construction.
void check_dropout_probability(double p);

// `x` scaled and masked when `training` and p > 0; `x` itself otherwise. p in [0, 1] (1: zeros);
// anything else throws lightpeft::Error. Differentiable in x: one pass and one autograd node that
// keeps the mask as bits (not a float tensor) for the backward; no mask is kept without a graph.
at::Tensor dropout(const at::Tensor& x, double p, bool training);

// The keep-mask alone, scaled: a tensor shaped and typed like `like` holding 0 or 1 / (1 - p),
// from `seed` (element i uses Philox block i / 4, word i % 4). For tests and for callers that
// keep their mask.
at::Tensor dropout_mask(const at::Tensor& like, double p, uint64_t seed);

}  // namespace lightpeft::kernels
