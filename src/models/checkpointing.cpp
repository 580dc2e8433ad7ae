#include "lightpeft/models/checkpointing.h"

#include <mutex>

#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>
#include <ATen/core/grad_mode.h>

namespace lightpeft {
namespace {

thread_local int recompute_depth = 0;

// The state of the default generator of x's device, for dropout to repeat its masks.
at::Generator default_generator(const at::Tensor& x) {
  return x.is_cuda() ? at::globalContext().defaultGenerator(x.device())
                     : at::globalContext().defaultGenerator(at::kCPU);
}

class CheckpointBackward : public torch::autograd::Node {
 public:
  CheckpointBackward(std::function<at::Tensor(const at::Tensor&)> fn, at::Tensor input, at::Tensor rng_state)
      : fn_(std::move(fn)), input_(std::move(input)), rng_state_(std::move(rng_state)) {}

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    at::Generator gen = default_generator(input_);
    at::Tensor now;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      now = gen.get_state();
      gen.set_state(rng_state_);
    }
    at::Tensor x = input_.detach().requires_grad_(input_requires_grad());
    at::Tensor y;
    {
      at::AutoGradMode enable(true);
      ++recompute_depth;
      try {
        y = fn_(x);
      } catch (...) {
        --recompute_depth;
        throw;
      }
      --recompute_depth;
    }
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(now);
    }
    if (y.requires_grad()) torch::autograd::backward({y}, {grads[0]});
    fn_ = nullptr;  // frees what the closure holds once the layer is differentiated
    return {input_requires_grad() ? x.grad() : at::Tensor()};
  }

  std::string name() const override { return "CheckpointBackward"; }

 private:
  bool input_requires_grad() const { return next_edge(0).is_valid(); }

  std::function<at::Tensor(const at::Tensor&)> fn_;
  at::Tensor input_;
  at::Tensor rng_state_;
};

}  // namespace

bool is_recomputing() { return recompute_depth > 0; }

at::Tensor checkpointed(const std::function<at::Tensor(const at::Tensor&)>& fn, const at::Tensor& x) {
  if (!at::GradMode::is_enabled()) return fn(x);
  at::Generator gen = default_generator(x);
  at::Tensor rng_state;
  {
    std::lock_guard<std::mutex> lock(gen.mutex());
    rng_state = gen.get_state();
  }
  at::Tensor y;
  {
    at::NoGradGuard no_grad;
    y = fn(x);
  }
  auto node = std::shared_ptr<CheckpointBackward>(new CheckpointBackward(fn, x.detach(), rng_state),
                                                  torch::autograd::deleteNode);
  node->set_next_edges(torch::autograd::collect_next_edges(x));
  torch::autograd::set_history(y, node);
  return y;
}

}  // namespace lightpeft
