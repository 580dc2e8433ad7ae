// A process group of one rank on each backend: it initialises (TCPStore + Gloo on the CPU, NCCL on
// cuda:0), its collectives are the identity, and the gradient averaging of a training step leaves
// the gradients (hence the step) exactly as a run without distribution computes them. The NCCL
// case is the GPU machine's check of issue 9 and skips where no CUDA device is present.
#include <chrono>
#include <vector>

#include <ATen/ops/add.h>
#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/linspace.h>
#include <ATen/ops/matmul.h>
#include <ATen/ops/mean.h>
#include <ATen/ops/pow.h>
#include <ATen/ops/randn.h>
#include <gtest/gtest.h>
#include <torch/cuda.h>

#include "lightpeft/distributed/grad_sync.h"
#include "lightpeft/distributed/local_launcher.h"
#include "lightpeft/distributed/process_group.h"

namespace lightpeft {
namespace {

void check_one_rank_group(c10::Device device, const std::string& backend) {
  dist::LaunchEnv env;
  env.rank = 0;
  env.world_size = 1;
  env.local_rank = device.is_cuda() ? device.index() : 0;
  env.master_addr = "127.0.0.1";
  env.master_port = dist::free_tcp_port();
  env.source = "test";
  dist::ProcessGroup group(env, device, std::chrono::seconds(60));
  EXPECT_EQ(group.backend(), backend);
  EXPECT_EQ(group.size(), 1);
  EXPECT_EQ(group.rank(), 0);

  const auto opts = at::TensorOptions().device(device).dtype(at::kFloat);
  std::vector<at::Tensor> t = {at::linspace(-3.0, 5.0, 37, opts), at::randn({4, 5}, opts)};
  const std::vector<at::Tensor> before = {t[0].clone(), t[1].clone()};
  group.all_reduce_sum(t);
  EXPECT_TRUE(at::equal(t[0], before[0]));
  EXPECT_TRUE(at::equal(t[1], before[1]));
  group.all_reduce_max(t);
  EXPECT_TRUE(at::equal(t[1], before[1]));
  group.broadcast(t[0]);
  EXPECT_TRUE(at::equal(t[0], before[0]));
  group.barrier("test barrier");

  // A training step's gradients: averaged over one rank they are what a single process has.
  auto w = at::randn({6, 3}, opts).requires_grad_(true);
  auto b = at::randn({6}, opts).requires_grad_(true);
  auto x = at::randn({8, 3}, opts);
  at::mean(at::pow(at::add(at::matmul(x, w.t()), b), 2)).backward();
  const auto gw = w.grad().clone(), gb = b.grad().clone();
  dist::GradientSync sync(group, {w, b}, /*bucket_bytes=*/64);  // several buckets
  EXPECT_GE(sync.num_buckets(), 2);
  sync.average_gradients();
  EXPECT_TRUE(at::allclose(w.grad(), gw, 0.0, 0.0));
  EXPECT_TRUE(at::allclose(b.grad(), gb, 0.0, 0.0));
  EXPECT_EQ(sync.max_replica_difference(), 0.0);
}

TEST(OneRankGroup, GlooOnTheCpu) { check_one_rank_group(c10::Device(c10::kCPU), "gloo"); }

TEST(OneRankGroup, NcclOnCudaOnGpu) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device here: the NCCL check runs on the GPU machine (benchmarks/gpu_check.sh)";
  check_one_rank_group(c10::Device(c10::kCUDA, 0), "nccl");
}

}  // namespace
}  // namespace lightpeft
