#pragma once
// The linear layers of a model are replaceable: PEFT wraps them (LoRA, adapters), pruning slices
// them. `LinearLayer` is the interface a layer calls; `Dense` is the plain y = x W^T + b whose
// registered names ("weight", "bias") equal torch.nn.Linear's, so state-dict keys match HF's. GPT-2's
// Conv1D, whose weight is stored transposed (in, out), is a Dense with fan_in_fan_out.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

namespace lightpeft {

class LinearLayer : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
  virtual int64_t in_features() const = 0;
  virtual int64_t out_features() const = 0;
  // Keeps only `index` along `dim` (0: output rows, 1: input columns), as HF's prune_linear_layer.
  // Wrappers (LoRA, adapters) slice their own weights consistently, so attention-unit and neuron
  // pruning work on wrapped layers too.
  virtual void prune(const torch::Tensor& index, int64_t dim) = 0;
};
using LinearPtr = std::shared_ptr<LinearLayer>;

// A Dense whose weight is stored in another dtype than its input (frozen base weights kept in
// bf16 while activations are fp32) computes in the weight's dtype and returns the input's.
class DenseImpl : public LinearLayer {
 public:
  // fan_in_fan_out: the weight is stored (in, out), as GPT-2's Conv1D (HF PEFT's flag of that name).
  DenseImpl(int64_t in_features, int64_t out_features, bool bias = true, bool fan_in_fan_out = false);
  torch::Tensor forward(const torch::Tensor& x) override;
  int64_t in_features() const override { return weight.size(fan_in_fan_out_ ? 0 : 1); }
  int64_t out_features() const override { return weight.size(fan_in_fan_out_ ? 1 : 0); }
  bool fan_in_fan_out() const { return fan_in_fan_out_; }
  void pretty_print(std::ostream& stream) const override;

  // Keeps only `index` along logical `dim` (0: outputs, with the bias; 1: inputs, the bias kept
  // whole), as HF's prune_linear_layer / prune_conv1d_layer. The parameter objects stay the same.
  void prune(const torch::Tensor& index, int64_t dim) override;
  // Adds `delta` (out, in) to the weight in place, transposing it for a fan_in_fan_out weight.
  void add_to_weight(const torch::Tensor& delta, double alpha = 1.0);

  torch::Tensor weight;  // (out, in), or (in, out) with fan_in_fan_out
  torch::Tensor bias;    // (out) or undefined

 private:
  bool fan_in_fan_out_;
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

// A linear slot found by its module path.
struct LinearSlot {
  LinearHost* host = nullptr;
  std::string name;  // the slot's name inside the host ("query", "dense")
  LinearPtr get() const { return host->linear(name); }
  void set(LinearPtr layer) const { host->replace_linear(name, std::move(layer)); }
};

// `x` cast once to the autocast dtype for several linears that read it, when autocast is on for its
// device and no graph is recorded for it (inference): the same values each linear's own autocast
// cast would give, one pass instead of one per linear. Otherwise `x` itself (with a graph, shared
// casts would add the linears' input gradients in the lower precision).
at::Tensor autocast_shared_input(const at::Tensor& x);

// Stores the weights and biases of every Dense under `root` whose weight is frozen
// (requires_grad false) in `dtype` (e.g. bf16 base weights under LoRA); returns how many. Embeddings
// and norms keep their dtype.
int64_t store_frozen_linears_as(torch::nn::Module& root, c10::ScalarType dtype);

// Every linear slot under `root`, by path ("bert.encoder.layer.0.attention.self.query"), sorted.
std::map<std::string, LinearSlot> linear_slots(const torch::nn::Module& root);
// The slot at `path` under `root` ("a.b.query": the host "a.b", slot "query"); throws when there is none.
LinearSlot find_linear_slot(const torch::nn::Module& root, const std::string& path);

}  // namespace lightpeft
