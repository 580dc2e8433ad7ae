// lightpeft's CUDA kernels against their LibTorch reference paths, on the CUDA device:
//   bench_kernels [--repeats N]
// For each operation and shape (roberta-base widths, 32 x 128 tokens), forward + backward as in
// training, fp32 and bf16: the kernel path's median time, its ratio to the reference path's, and its
// ratio to the shape's roofline on this device, max(FLOPs / peak rate, bytes / bandwidth), with the
// FLOPs and bytes the operation cannot avoid (no recomputation; each input read once, each output
// written once). Then a roberta-base-shaped training step (LoRA r = 8 on the six linears of every
// layer; estimate stage with head/neuron masks and importance recording, and finetune stage
// without), fused vs reference, fp32 and bf16 autocast: forward + loss + backward (the optimiser
// step is the same in both and left out).
// Without a CUDA device (or without the kernels in this build) it says so and exits 0.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <ATen/autocast_mode.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/randperm.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include "lightpeft/kernels/ops.h"
#include "lightpeft/models/encoder.h"
#include "lightpeft/models/task_model.h"
#include "lightpeft/peft/inject.h"
#include "lightpeft/pruning/foundation_masks.h"
#include "lightpeft/pruning/module_importance.h"
#include "lightpeft/pruning/rank_importance.h"

namespace {

using lightpeft::kernels::Backend;
using lightpeft::kernels::DeviceInfo;

int g_repeats = 20;

// Median wall time of fn() in ms, device work included: each sample runs fn enough times to last
// about 2 ms, between two synchronisations, after warm-up calls (allocator, cuBLAS handles).
double median_ms(const std::function<void()>& fn, int repeats = g_repeats) {
  using clock = std::chrono::steady_clock;
  for (int i = 0; i < 3; ++i) fn();
  torch::cuda::synchronize();
  auto t0 = clock::now();
  fn();
  torch::cuda::synchronize();
  const double once = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  const int calls = std::max(1, static_cast<int>(2.0 / std::max(once, 1e-3)));
  std::vector<double> samples;
  for (int r = 0; r < repeats; ++r) {
    t0 = clock::now();
    for (int c = 0; c < calls; ++c) fn();
    torch::cuda::synchronize();
    samples.push_back(std::chrono::duration<double, std::milli>(clock::now() - t0).count() / calls);
  }
  std::nth_element(samples.begin(), samples.begin() + samples.size() / 2, samples.end());
  return samples[samples.size() / 2];
}

struct Work {
  double flops = 0.0, bytes = 0.0;
};

double roofline_ms(const DeviceInfo& dev, const Work& w, bool bf16) {
  const double peak = bf16 ? dev.peak_bf16_flops : dev.peak_fp32_flops;
  return 1e3 * std::max(w.flops / peak, w.bytes / dev.memory_bandwidth);
}

void row(const DeviceInfo& dev, const std::string& op, const std::string& shape, bool bf16,
         double kernel, double reference, const Work& w) {
  std::printf("| %-16s | %-28s | %-4s | %9.3f | %9.3f | %6.2f | %6.2f |\n", op.c_str(), shape.c_str(),
              bf16 ? "bf16" : "fp32", kernel, reference, kernel / reference,
              kernel / roofline_ms(dev, w, bf16));
  std::fflush(stdout);
}

at::TensorOptions cuda(at::ScalarType dtype) {
  return at::TensorOptions().device(at::kCUDA).dtype(dtype);
}

// Forward + backward of `op(inputs)` with a fixed upstream gradient.
std::function<void()> train_call(const std::function<at::Tensor()>& op,
                                 const std::vector<at::Tensor>& inputs, const at::Tensor& dout) {
  return [=] {
    auto out = op();
    torch::autograd::grad({out}, inputs, {dout});
  };
}

void bench_attention(const DeviceInfo& dev) {
  struct S {
    int64_t b, t, h, d;
  };
  for (S s : {S{32, 128, 12, 64}, S{8, 512, 12, 64}}) {
    for (auto dtype : {at::kFloat, at::kBFloat16}) {
      const int64_t width = s.h * s.d;
      auto q = at::randn({s.b, s.t, width}, cuda(dtype)).requires_grad_();
      auto k = at::randn({s.b, s.t, width}, cuda(dtype)).requires_grad_();
      auto v = at::randn({s.b, s.t, width}, cuda(dtype)).requires_grad_();
      auto mask = at::ones({1, s.h, 1, 1}, cuda(at::kFloat)).requires_grad_();
      auto bias = at::zeros({s.b, 1, 1, s.t}, cuda(at::kFloat));
      auto dout = at::randn({s.b, s.t, width}, cuda(dtype));
      auto fused = median_ms(train_call(
          [&] { return lightpeft::kernels::masked_attention(q, k, v, bias, mask, s.h, 0.1, true); },
          {q, k, v, mask}, dout));
      auto ref = median_ms(train_call(
          [&] {
            return lightpeft::kernels::reference::masked_attention(q, k, v, bias, mask, s.h, 0.1, true);
          },
          {q, k, v, mask}, dout));
      const double e = dtype == at::kFloat ? 4 : 2, n = static_cast<double>(s.b * s.t * width);
      Work w{12.0 * s.b * s.h * s.t * s.t * s.d, 12.0 * n * e};  // fwd 2 GEMMs, bwd 4; 12 tensors
      row(dev, "masked_attention", std::to_string(s.b) + "x" + std::to_string(s.t) + " h" +
          std::to_string(s.h) + " d" + std::to_string(s.d) + " drop 0.1",
          dtype == at::kBFloat16, fused, ref, w);
    }
  }
}

void bench_ffn(const DeviceInfo& dev) {
  for (auto dtype : {at::kFloat, at::kBFloat16}) {
    const int64_t rows = 4096, cols = 3072;
    auto h = at::randn({32, 128, cols}, cuda(dtype)).requires_grad_();
    auto mask = at::ones({1, cols}, cuda(at::kFloat)).requires_grad_();
    auto dout = at::randn({32, 128, cols}, cuda(dtype));
    auto fused = median_ms(train_call(
        [&] { return lightpeft::kernels::masked_activation(h, mask, "gelu"); }, {h, mask}, dout));
    auto ref = median_ms(train_call(
        [&] { return lightpeft::kernels::reference::masked_activation(h, mask, "gelu"); },
        {h, mask}, dout));
    const double e = dtype == at::kFloat ? 4 : 2;
    Work w{30.0 * rows * cols, 5.0 * rows * cols * e};  // read h; write y; read h, dy; write dh
    row(dev, "masked_gelu", "4096x3072", dtype == at::kBFloat16, fused, ref, w);
  }
}

void bench_pruned(const DeviceInfo& dev) {
  struct S {
    const char* name;
    int64_t out, in, kept_out, kept_in;
  };
  // FFN with 1/3 of the neurons pruned; a query with 8 of 12 heads kept.
  for (S s : {S{"intermediate 2048/3072", 3072, 768, 2048, -1}, S{"output 2048/3072", 768, 3072, -1, 2048},
              S{"query 8/12 heads", 768, 768, 512, -1}}) {
    for (auto dtype : {at::kFloat, at::kBFloat16}) {
      const int64_t m = 4096;
      auto subset = [](int64_t n, int64_t k) {
        return std::get<0>(at::randperm(n, at::kLong).narrow(0, 0, k).sort());
      };
      using lightpeft::kernels::KeptIndex;
      const KeptIndex rows = s.kept_out < 0 ? KeptIndex() : KeptIndex(subset(s.out, s.kept_out), s.out, at::kCUDA);
      const KeptIndex cols = s.kept_in < 0 ? KeptIndex() : KeptIndex(subset(s.in, s.kept_in), s.in, at::kCUDA);
      const int64_t n = rows.size_or(s.out), k = cols.size_or(s.in);
      auto w = at::randn({s.out, s.in}, cuda(dtype)) * 0.02;  // frozen base weight
      auto b = at::randn({s.out}, cuda(dtype));
      auto x = at::randn({m, k}, cuda(dtype)).requires_grad_();
      auto dout = at::randn({m, n}, cuda(dtype));
      auto fused = median_ms(train_call(
          [&] { return lightpeft::kernels::pruned_linear(x, w, b, rows, cols); }, {x}, dout));
      auto ref = median_ms(train_call(
          [&] { return lightpeft::kernels::reference::pruned_linear(x, w, b, rows, cols); }, {x},
          dout));
      const double e = dtype == at::kFloat ? 4 : 2;
      Work work{4.0 * m * n * k, 2.0 * (m * k + n * k + m * n) * e};
      row(dev, "pruned_linear", std::string(s.name) + " x4096", dtype == at::kBFloat16, fused, ref, work);
    }
  }
}

void bench_lora(const DeviceInfo& dev) {
  struct S {
    int64_t in, out, r;
  };
  for (S s : {S{768, 768, 8}, S{768, 3072, 8}, S{3072, 768, 8}}) {
    for (auto dtype : {at::kFloat, at::kBFloat16}) {
      const int64_t m = 4096;
      auto x = at::randn({32, 128, s.in}, cuda(dtype)).requires_grad_();
      auto w = at::randn({s.out, s.in}, cuda(dtype)) * 0.02;  // frozen base
      auto b = at::randn({s.out}, cuda(dtype));
      auto A = (at::randn({s.r, s.in}, cuda(dtype)) * 0.02).requires_grad_();
      auto B = (at::randn({s.out, s.r}, cuda(dtype)) * 0.02).requires_grad_();
      auto dout = at::randn({32, 128, s.out}, cuda(dtype));
      auto fused = median_ms(train_call(
          [&] { return lightpeft::kernels::lora_linear(x, w, b, A, B, 2.0); }, {x, A, B}, dout));
      auto ref = median_ms(train_call(
          [&] { return lightpeft::kernels::reference::lora_linear(x, w, b, A, B, 2.0); }, {x, A, B},
          dout));
      const double e = dtype == at::kFloat ? 4 : 2;
      Work work{4.0 * m * s.in * s.out + 8.0 * m * s.r * (s.in + s.out),
                e * (2.0 * m * s.in + 2.0 * m * s.out + 2.0 * s.in * s.out)};
      row(dev, "lora_linear", std::to_string(s.in) + "->" + std::to_string(s.out) + " r" +
          std::to_string(s.r) + " x4096", dtype == at::kBFloat16, fused, ref, work);
    }
  }
}

void bench_rank_taylor(const DeviceInfo& dev) {
  for (auto dtype : {at::kFloat, at::kBFloat16}) {
    auto A = at::randn({8, 768}, cuda(dtype)).requires_grad_();
    auto B = at::randn({3072, 8}, cuda(dtype)).requires_grad_();
    A.mutable_grad() = at::randn({8, 768}, cuda(dtype));
    B.mutable_grad() = at::randn({3072, 8}, cuda(dtype));
    auto sum = at::zeros({8}, cuda(at::kFloat));
    auto fused = median_ms([&] { lightpeft::kernels::rank_taylor_accumulate(A, B, sum); });
    auto ref = median_ms([&] { lightpeft::kernels::reference::rank_taylor_accumulate(A, B, sum); });
    const double e = dtype == at::kFloat ? 4 : 2;
    Work work{4.0 * 8 * (768 + 3072), 2.0 * 8 * (768 + 3072) * e};
    row(dev, "rank_taylor", "r8 768 / 3072", dtype == at::kBFloat16, fused, ref, work);
  }
}

// ---- roberta-base-shaped training step -------------------------------------------------------

lightpeft::ModelConfig roberta_base() {
  lightpeft::ModelConfig c;
  c.model_type = "roberta";
  c.vocab_size = 50265;
  c.hidden_size = 768;
  c.num_hidden_layers = 12;
  c.num_attention_heads = 12;
  c.intermediate_size = 3072;
  c.attention_units_per_layer.assign(12, 12);
  c.intermediate_per_layer.assign(12, 3072);
  c.max_position_embeddings = 514;
  c.type_vocab_size = 1;
  c.layer_norm_eps = 1e-5;
  c.pad_token_id = 1;
  c.num_labels = 2;
  return c;
}

void bench_training_step() {
  torch::manual_seed(0);
  auto model = lightpeft::make_task_model(roberta_base(), lightpeft::HeadKind::sequence_classification);
  lightpeft::LoraConfig lc;
  lc.r = 8;
  lc.lora_alpha = 16.0;
  lc.lora_dropout = 0.05;
  lc.target_modules = lightpeft::TargetModules::list(
      {"query", "key", "value", "attention.output.dense", "intermediate.dense", "output.dense"});
  auto peft = lightpeft::inject_lora(model, lc);
  peft.model->to(at::kCUDA);
  peft.model->train();
  lightpeft::FoundationMasks masks(peft.model->config());
  masks->to(at::kCUDA);
  lightpeft::ModelInputs inputs;
  inputs.input_ids = at::randint(3, 50265, {32, 128}, cuda(at::kLong));
  inputs.attention_mask = at::ones({32, 128}, cuda(at::kLong));
  inputs.attention_mask.narrow(1, 100, 28).narrow(0, 0, 8).zero_();  // some padding
  auto labels = at::randint(0, 2, {32}, cuda(at::kLong));

  std::printf("\n| training step (roberta-base shape, 32 x 128, LoRA r8 x 6 per layer) | dtype | fused ms | reference ms | fused/reference |\n");
  std::printf("|---|---|---|---|---|\n");
  for (bool estimate : {true, false}) {
    for (bool bf16 : {false, true}) {
      double ms[2];
      for (Backend backend : {Backend::fused, Backend::reference}) {
        lightpeft::kernels::BackendScope scope(backend);
        lightpeft::ModuleImportance module_imp(peft, 2);
        lightpeft::RankImportance rank_imp(peft, 2);
        if (estimate) module_imp.attach();
        auto fn = [&] {
          for (auto& p : peft.model->parameters()) p.mutable_grad().reset();
          for (auto& p : masks->parameters()) p.mutable_grad().reset();
          if (estimate) module_imp.begin_step(1, inputs.attention_mask);
          if (bf16) {
            at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
            at::autocast::set_autocast_enabled(at::kCUDA, true);
          }
          auto logits = estimate ? peft.forward(inputs, masks->layer_masks()).logits
                                 : peft.forward(inputs).logits;
          if (bf16) {
            at::autocast::set_autocast_enabled(at::kCUDA, false);
            at::autocast::clear_cache();
          }
          auto loss = lightpeft::sequence_classification_loss(peft.model->config(),
                                                              logits.to(at::kFloat), labels);
          if (estimate) loss = loss + 1e-4 * masks->l1_penalty();
          loss.backward();
          if (estimate) {
            rank_imp.accumulate(1);
            module_imp.end_step();
          }
        };
        ms[backend == Backend::fused ? 0 : 1] = median_ms(fn, std::max(5, g_repeats / 2));
        if (estimate) module_imp.detach();
      }
      std::printf("| %s | %s | %.2f | %.2f | %.3f |\n",
                  estimate ? "estimate (masks + importance)" : "finetune (LoRA only)",
                  bf16 ? "bf16 autocast" : "fp32", ms[0], ms[1], ms[0] / ms[1]);
      std::fflush(stdout);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
      g_repeats = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: bench_kernels [--repeats N]\n");
      return 2;
    }
  }
  if (!lightpeft::kernels::compiled_with_cuda()) {
    std::printf("bench_kernels: this build has no CUDA kernels (LIGHTPEFT_CUDA=OFF or no nvcc): "
                "nothing to measure\n");
    return 0;
  }
  auto dev = lightpeft::kernels::cuda_device_info(0);
  if (!torch::cuda::is_available() || !dev) {
    std::printf("bench_kernels: no CUDA device: nothing to measure (run it on a GPU machine, "
                "benchmarks/gpu_check.sh)\n");
    return 0;
  }
  std::printf("# bench_kernels on %s: %d SMs, sm_%d, %.0f GB/s, peak fp32 %.1f TFLOP/s, bf16 %.0f "
              "TFLOP/s (%s)\n",
              dev->name.c_str(), dev->sm_count, dev->compute_capability,
              dev->memory_bandwidth / 1e9, dev->peak_fp32_flops / 1e12,
              dev->peak_bf16_flops / 1e12, dev->peak_source.c_str());
  std::printf("# forward + backward, median of %d; kernel/roofline = time over max(FLOPs / peak, "
              "bytes / bandwidth)\n\n",
              g_repeats);
  std::printf("| op | shape | dtype | kernel ms | reference ms | kernel/reference | kernel/roofline |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  lightpeft::kernels::BackendScope fused(Backend::fused);
  bench_attention(*dev);
  bench_ffn(*dev);
  bench_pruned(*dev);
  bench_lora(*dev);
  bench_rank_taylor(*dev);
  bench_training_step();
  return 0;
}
