#pragma once
// The timed steps of a benchmark under LibTorch's profiler (CPU ops), saved as a Chrome trace to
// compare op by op with the HF twin's `--profile` (benchmarks/compare_profiles.py). Shared by
// bench_step and bench_decoder_step; does nothing when the path is empty.
#include <set>
#include <string>

#include <torch/csrc/autograd/profiler_kineto.h>

namespace lightpeft::bench {

class StepProfiler {
 public:
  explicit StepProfiler(std::string trace_path) : path_(std::move(trace_path)) {}
  // Call before every step: profiling starts at the first timed step.
  void before_step(int64_t step, int64_t warmup) {
    if (path_.empty() || step != warmup) return;
    namespace prof = torch::autograd::profiler;
    const prof::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO, /*report_input_shapes=*/true);
    const std::set<torch::profiler::impl::ActivityType> cpu = {torch::profiler::impl::ActivityType::CPU};
    prof::prepareProfiler(config, cpu);
    prof::enableProfiler(config, cpu);
    running_ = true;
  }
  // After the last step: the trace written.
  void save() {
    if (!running_) return;
    torch::autograd::profiler::disableProfiler()->save(path_);
    running_ = false;
  }

 private:
  std::string path_;
  bool running_ = false;
};

}  // namespace lightpeft::bench
