// The opt-in switch: names, errors, scoping, and that CPU tensors never take the fused path.
#include <ATen/ops/ones.h>
#include <gtest/gtest.h>

#include "kernels_test_util.h"
#include "lightpeft/core/error.h"
#include "lightpeft/kernels/backend.h"
#include "lightpeft/kernels/device_info.h"
#include "test_support.h"

namespace lightpeft {
namespace {

using kernels::Backend;

TEST(Backend, NamesRoundTrip) {
  EXPECT_EQ(kernels::to_string(Backend::reference), "reference");
  EXPECT_EQ(kernels::to_string(Backend::fused), "fused");
  EXPECT_EQ(kernels::parse_backend("reference", "x"), Backend::reference);
  EXPECT_EQ(kernels::parse_backend("fused", "x"), Backend::fused);
}

TEST(Backend, UnknownNameIsAnErrorNamingTheOrigin) {
  try {
    kernels::parse_backend("Fused", "environment variable LIGHTPEFT_KERNELS");
    FAIL() << "expected lightpeft::Error";
  } catch (const Error& e) {
    EXPECT_TRUE(testing::contains(e.what(), "LIGHTPEFT_KERNELS")) << e.what();
    EXPECT_TRUE(testing::contains(e.what(), "'Fused'")) << e.what();
  }
}

TEST(Backend, ScopeSetsAndRestores) {
  const Backend before = kernels::backend();
  {
    kernels::BackendScope scope(Backend::fused);
    EXPECT_EQ(kernels::backend(), Backend::fused);
    {
      kernels::BackendScope inner(Backend::reference);
      EXPECT_EQ(kernels::backend(), Backend::reference);
    }
    EXPECT_EQ(kernels::backend(), Backend::fused);
  }
  EXPECT_EQ(kernels::backend(), before);
}

TEST(Backend, CpuTensorsNeverTakeTheFusedPath) {
  kernels::BackendScope scope(Backend::fused);
  EXPECT_FALSE(kernels::use_fused(at::ones({2, 3})));
  EXPECT_FALSE(kernels::use_fused(at::Tensor()));
  kernels::BackendScope reference(Backend::reference);
  EXPECT_FALSE(kernels::use_fused(at::ones({2, 3})));
}

TEST(Backend, FusedOnCudaOnlyWhenOptedIn) {
  LP_REQUIRE_GPU_KERNELS();
  auto t = at::ones({2, 3}, at::TensorOptions().device(at::kCUDA));
  {
    kernels::BackendScope scope(Backend::reference);
    EXPECT_FALSE(kernels::use_fused(t));
  }
  kernels::BackendScope scope(Backend::fused);
  EXPECT_TRUE(kernels::use_fused(t));
}

TEST(DeviceInfo, PeakRatesOfTheGpu) {
  LP_REQUIRE_GPU_KERNELS();
  auto info = kernels::cuda_device_info(0);
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->name.empty());
  EXPECT_GT(info->sm_count, 0);
  EXPECT_GE(info->compute_capability, 80);
  EXPECT_GT(info->memory_bandwidth, 1e11);  // > 100 GB/s on any part we build for
  EXPECT_GT(info->peak_bf16_flops, info->peak_fp32_flops);
}

TEST(DeviceInfo, NoDeviceNoInfo) {
  if (testing::gpu_kernels_testable()) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_FALSE(kernels::cuda_device_info(0).has_value());
}

}  // namespace
}  // namespace lightpeft
