#pragma once
// Shared by the kernel tests. Two kinds of test live in tests/kernels/:
//   - CPU tests: the reference operations equal the models' own code (bitwise where the ops are
//     the same, tight otherwise), the dispatcher's argument checks, edge cases (rank 0, all-zero
//     and all-one masks, odd sizes, empty index lists);
//   - GPU tests (names end in "OnGpu"): the CUDA kernels against the reference path on the same
//     inputs, fp32 tight and bf16 with the tolerances below. They skip with a message where there
//     is no CUDA device (or the build has no kernels); benchmarks/gpu_check.sh runs them on one.
//
// Tolerances, as relative error ||kernel - reference|| / ||reference|| (METHOD.md):
//   fp32: 1e-5 for forward outputs, 1e-4 for gradients (long reductions in another order);
//   bf16: 2e-2 against the fp32 reference on the same (bf16-representable) inputs: the kernels
//         round inputs and outputs to bf16 (2^-8 relative) and accumulate in fp32.
#include <cmath>

#include <ATen/TensorOperators.h>
#include <ATen/ops/randn.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "lightpeft/kernels/backend.h"

namespace lightpeft::testing {

constexpr double kFp32Forward = 1e-5;
constexpr double kFp32Grad = 1e-4;
constexpr double kBf16 = 2e-2;

inline double max_diff(const at::Tensor& a, const at::Tensor& b) {
  if (a.numel() == 0 && b.numel() == 0) return 0.0;
  return (a.to(at::kDouble).cpu() - b.to(at::kDouble).cpu()).abs().max().item<double>();
}

// ||a - b|| / ||b|| in float64 (||a - b|| when b is all zeros). NaN anywhere gives NaN, which
// fails every EXPECT_LT.
inline double rel_err(const at::Tensor& a, const at::Tensor& b) {
  if (a.numel() == 0 && b.numel() == 0) return 0.0;
  auto ad = a.detach().to(at::kDouble).cpu(), bd = b.detach().to(at::kDouble).cpu();
  const double num = (ad - bd).norm().item<double>(), den = bd.norm().item<double>();
  return den > 0.0 ? num / den : num;
}

// A random tensor whose values are exact in bf16, so that a bf16 kernel and the fp32 reference
// see the same inputs.
inline at::Tensor bf16_exact_randn(at::IntArrayRef sizes, const at::TensorOptions& options,
                                   double scale = 1.0) {
  return (at::randn(sizes, options.dtype(at::kFloat)) * scale).to(at::kBFloat16).to(at::kFloat);
}

inline bool gpu_kernels_testable() {
  return torch::cuda::is_available() && kernels::compiled_with_cuda();
}

}  // namespace lightpeft::testing

// First line of every GPU test.
#define LP_REQUIRE_GPU_KERNELS()                                                                 \
  do {                                                                                           \
    if (!torch::cuda::is_available())                                                            \
      GTEST_SKIP() << "no CUDA device here: kernel-vs-reference checks run on a GPU machine "    \
                      "(benchmarks/gpu_check.sh)";                                               \
    if (!::lightpeft::kernels::compiled_with_cuda())                                             \
      GTEST_SKIP() << "this build has no CUDA kernels (LIGHTPEFT_CUDA=OFF or no nvcc)";          \
  } while (0)
