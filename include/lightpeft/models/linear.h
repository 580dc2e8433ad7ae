#pragma once
// The linear layers of an encoder are replaceable: PEFT wraps them (LoraLinear), pruning slices them.
// `LinearLayer` is the interface a layer calls; `Dense` is the plain y = x W^T + b whose registered
// names ("weight", "bias") equal torch.nn.Linear's, so state-dict keys match HF's.
#include <map>
#include <memory>
#include <string>

#include <torch/nn/module.h>

namespace lightpeft {

class LinearLayer : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual int64_t in_features() const = 0;
  virtual int64_t out_features() const = 0;
  // Keeps only `index` along `dim` (0: output rows, 1: input columns), as HF's prune_linear_layer.
  // Wrappers (LoRA, adapters) slice their own weights consistently, so head and neuron pruning
  // work on wrapped layers too.
  virtual void prune(const torch::Tensor& index, int64_t dim) = 0;
};
using LinearPtr = std::shared_ptr<LinearLayer>;

class DenseImpl : public LinearLayer {
 public:
  DenseImpl(int64_t in_features, int64_t out_features, bool bias = true);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t in_features() const override { return weight.size(1); }
  int64_t out_features() const override { return weight.size(0); }
  void pretty_print(std::ostream& stream) const override;

  // Keeps only `index` along `dim` of the weight (0: output rows, with the bias; 1: input columns,
  // the bias kept whole), as HF's prune_linear_layer. The parameter objects stay the same.
  void prune(const torch::Tensor& index, int64_t dim) override;

  torch::Tensor weight;  // (out, in)
  torch::Tensor bias;    // (out) or undefined
};
TORCH_MODULE(Dense);

// Mixin for modules that own replaceable linears: each is a named slot registered as a submodule.
class LinearHost {
 public:
  virtual ~LinearHost() = default;
  // Names of the linear slots of this module ("query", "key", ...).
  std::vector<std::string> linear_names() const;
  LinearPtr linear(const std::string& name) const;
  // Puts `layer` in the slot: the member used by forward and the registered submodule both change.
  void replace_linear(const std::string& name, LinearPtr layer);

 protected:
  // Registers `layer` under `name` on `owner` and binds it to `slot` (a member of the owner).
  void register_linear(torch::nn::Module& owner, const std::string& name, LinearPtr* slot,
                       LinearPtr layer);

 private:
  torch::nn::Module* owner_ = nullptr;
  std::map<std::string, LinearPtr*> slots_;
};

}  // namespace lightpeft
