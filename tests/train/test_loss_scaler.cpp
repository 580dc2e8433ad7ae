// Dynamic loss scaling (fp16): GradScaler's rule, checked on CPU tensors; the runtime's device,
// autocast and bf16-unit checks.
#include <cmath>
#include <fstream>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>
#include <ATen/ops/mm.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>

#include "lightpeft/core/error.h"
#include "lightpeft/train/loss_scaler.h"
#include "lightpeft/train/runtime.h"

namespace lightpeft {
namespace {

TEST(LossScaler, ScalesLossAndUnscalesGradients) {
  DynamicLossScaler scaler(1024.0);
  auto p = at::ones({3}).set_requires_grad(true);
  scaler.scale((p * at::tensor({1.0f, 2.0f, 3.0f})).sum()).backward();
  EXPECT_FLOAT_EQ(p.grad()[2].item<float>(), 3.0f * 1024.0f);
  EXPECT_TRUE(scaler.unscale({p}));
  EXPECT_FLOAT_EQ(p.grad()[0].item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(p.grad()[2].item<float>(), 3.0f);
}

TEST(LossScaler, OverflowSkipsAndBacksOffCleanStepsGrow) {
  DynamicLossScaler scaler(8.0, 2.0, 0.5, /*growth_interval=*/2);
  auto p = at::ones({2}).set_requires_grad(true);
  p.mutable_grad() = at::tensor({1.0f, std::numeric_limits<float>::infinity()});
  EXPECT_FALSE(scaler.unscale({p}));
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.value(), 4.0);
  p.mutable_grad() = at::tensor({1.0f, std::nanf("")});
  EXPECT_FALSE(scaler.unscale({p}));
  scaler.update(false);
  EXPECT_DOUBLE_EQ(scaler.value(), 2.0);
  scaler.update(true);
  EXPECT_DOUBLE_EQ(scaler.value(), 2.0);
  scaler.update(true);  // two clean steps in a row
  EXPECT_DOUBLE_EQ(scaler.value(), 4.0);
}

TEST(LossScaler, RejectsBadSettings) {
  EXPECT_THROW(DynamicLossScaler(0.0), Error);
  EXPECT_THROW(DynamicLossScaler(1.0, 1.0), Error);
  EXPECT_THROW(DynamicLossScaler(1.0, 2.0, 1.5), Error);
}

TEST(Runtime, Fp16IsForCudaOnly) {
  TrainConfig c;
  c.source = "cfg.yaml";
  c.device = "cpu";
  c.dtype = Dtype::fp16;
  try {
    make_runtime(c);
    FAIL() << "fp16 on the CPU was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fp16 autocast is for CUDA devices"), std::string::npos) << e.what();
  }
  c.dtype = Dtype::fp32;
  EXPECT_FALSE(make_runtime(c).autocast());
}

// bf16 autocast runs on the CPU too: matmuls inside the scope compute in bf16, and the scope
// restores the previous state when it ends.
TEST(Runtime, Bf16AutocastOnTheCpu) {
  TrainConfig c;
  c.source = "cfg.yaml";
  c.device = "cpu";
  c.dtype = Dtype::bf16;
  Runtime rt = make_runtime(c);
  ASSERT_TRUE(rt.autocast());
  EXPECT_FALSE(rt.loss_scaling());
  auto a = at::randn({4, 8}), b = at::randn({8, 3});
  {
    AutocastScope scope(rt);
    EXPECT_EQ(at::mm(a, b).scalar_type(), at::kBFloat16);
  }
  EXPECT_EQ(at::mm(a, b).scalar_type(), at::kFloat);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCPU));
}

// The bf16 units LibTorch reports are the ones the kernel lists in /proc/cpuinfo's flags.
TEST(Runtime, Bf16UnitsAsTheKernelListsThem) {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, flags;
  while (std::getline(cpuinfo, line))
    if (line.rfind("flags", 0) == 0) {
      flags = line + " ";
      break;
    }
  if (flags.empty() || flags.find(" sse2 ") == std::string::npos) GTEST_SKIP() << "not an x86 Linux machine";
  const bool listed = flags.find(" avx512_bf16 ") != std::string::npos || flags.find(" amx_bf16 ") != std::string::npos;
  ASSERT_TRUE(cpu_has_bf16_units().has_value());
  EXPECT_EQ(*cpu_has_bf16_units(), listed) << flags;
}

}  // namespace
}  // namespace lightpeft
