#include "lightpeft/kernels/dropout.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>
#include <ATen/TensorOperators.h>
#include <ATen/ops/dropout.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/zeros_like.h>

#include "lightpeft/core/error.h"
#include "lightpeft/kernels/philox.h"

namespace lightpeft::kernels {
namespace {

void check_p(double p) {
  LP_CHECK(std::isfinite(p) && p >= 0.0 && p <= 1.0, "dropout: probability must be in [0, 1], got ", p);
}

uint64_t seed_from_default_generator() {
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
}

}  // namespace

at::Tensor dropout_mask(const at::Tensor& like, double p, uint64_t seed) {
  check_p(p);
  LP_CHECK(p < 1.0, "dropout_mask: p must be below 1 (p = 1 drops everything: no mask to scale)");
  at::Tensor mask = at::empty_like(like, like.options().device(at::kCPU), at::MemoryFormat::Contiguous);
  // keep when the 32-bit word is below (1 - p) * 2^32
  const uint64_t threshold = static_cast<uint64_t>(std::ldexp(1.0 - p, 32));
  const double scale = 1.0 / (1.0 - p);
  const int64_t n = mask.numel(), blocks = (n + 3) / 4;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, mask.scalar_type(), "lightpeft_dropout_mask", [&] {
    scalar_t* out = mask.data_ptr<scalar_t>();
    const scalar_t kept = static_cast<scalar_t>(scale), dropped = static_cast<scalar_t>(0);
    at::parallel_for(0, blocks, 2048, [&](int64_t begin, int64_t end) {
      const std::array<uint32_t, 2> key = {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)};
      for (int64_t b = begin; b < end; ++b) {
        const uint64_t counter = static_cast<uint64_t>(b);
        const auto words = philox4x32_10({static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0, 0}, key);
        const int64_t first = b * 4, count = std::min<int64_t>(4, n - first);
        for (int64_t j = 0; j < count; ++j) out[first + j] = words[j] < threshold ? kept : dropped;
      }
    });
  });
  return mask;
}

at::Tensor dropout(const at::Tensor& x, double p, bool training) {
  check_p(p);
  if (!training || p == 0.0 || x.numel() == 0) return x;
  if (!x.device().is_cpu()) return at::dropout(x, p, training);
  if (p == 1.0) return x * at::zeros_like(x);
  return x * dropout_mask(x, p, seed_from_default_generator());
}

}  // namespace lightpeft::kernels
