#pragma once
// LoRA on one linear layer, as HF PEFT's lora.Linear: a frozen "base_layer" plus a low-rank update
//   y = base(x) + scaling * lora_B(lora_A(lora_dropout(x))),  scaling = alpha / r  (rsLoRA: alpha / sqrt r)
// Registered names equal HF PEFT's in-model names without the adapter name ("default"), so the keys
// are "<path>.base_layer.weight", "<path>.lora_A.weight", "<path>.lora_B.weight", which are also the
// keys of adapter_model.safetensors after its "base_model.model." prefix.
//
// Each module has its own rank; r = 0 means no LoRA at all (no lora_A/lora_B; forward = base only),
// which is what Light-PEFT's module and rank pruning leave behind.
#include <cstdint>
#include <vector>

#include <torch/nn/module.h>

#include "lightpeft/models/dropout.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/peft/peft_layer.h"

namespace lightpeft {

class LoraLinearImpl : public PeftLayer {
 public:
  // Wraps `base` (its parameters are shared, not copied). lora_A is kaiming-uniform(a = sqrt 5) as
  // torch.nn.Linear's default, lora_B zeros, so the wrapped layer starts equal to the base.
  LoraLinearImpl(Dense base, int64_t r, double lora_alpha, double lora_dropout = 0.0,
                 bool use_rslora = false);

  torch::Tensor forward(const torch::Tensor& x) override;
  void pretty_print(std::ostream& stream) const override;
  int64_t rank() const override { return r_; }
  torch::Tensor rank_factor_in() const override { return r_ > 0 ? lora_A->weight : torch::Tensor(); }
  torch::Tensor rank_factor_out() const override { return r_ > 0 ? lora_B->weight : torch::Tensor(); }
  bool mergeable() const override { return true; }

  // scaling * B(A(dropout(x))) alone (zeros-shaped result is not produced for r = 0: undefined).
  // Light-PEFT's module importance is ||delta|| / ||base(x)||.
  torch::Tensor lora_delta(const torch::Tensor& x);
  // scaling * B A, shape (out, in); zeros for r = 0.
  torch::Tensor delta_weight() const;

  int64_t r() const { return r_; }
  double scaling() const { return scaling_; }
  bool use_rslora() const { return use_rslora_; }
  // The alpha that gives the current scaling at the current rank: what HF PEFT must be told
  // (alpha_pattern) to rebuild this module. Equals the constructor's alpha until ranks are pruned.
  double effective_alpha() const;
  // W += scaling * B A (forward then skips the LoRA branch) and back (transposed for a
  // fan_in_fan_out base: GPT-2's Conv1D). Merging twice or unmerging an unmerged layer throws.
  void merge() override;
  void unmerge() override;
  // Re-initialises A (kaiming-uniform) and B (zeros) as HF's init_lora_weights=True.
  void reset_lora_parameters();

  // Keeps the ranks in `ranks` (distinct, each in [0, r)): rows of A, columns of B. The scaling is
  // NOT recomputed (Light-PEFT's code keeps alpha / r_original). Keeping none removes LoRA (r = 0).
  void keep_ranks(const std::vector<int64_t>& ranks) override;
  // Head/neuron pruning of the base: dim 0 slices output rows of the base and of lora_B, dim 1
  // input columns of the base and of lora_A (spec 1.1: prune_lora_attn / prune_lora_ffn).
  void prune(const torch::Tensor& index, int64_t dim) override;
  void prune_output(const torch::Tensor& index) { prune(index, 0); }
  void prune_input(const torch::Tensor& index) { prune(index, 1); }

  Dense lora_A{nullptr};  // (r, in), null when r = 0
  Dense lora_B{nullptr};  // (out, r), null when r = 0
  Dropout lora_dropout{nullptr};

 protected:
  std::pair<const char*, const char*> factor_names() const override { return {"lora_A", "lora_B"}; }

 private:
  // result + scaling * lora_B(down), the B GEMM absorbing the scale and the sum.
  torch::Tensor add_scaled_update(const torch::Tensor& result, const torch::Tensor& down);
  void remove_lora();

  int64_t r_;
  double alpha_;
  double scaling_;
  bool use_rslora_;
};
TORCH_MODULE(LoraLinear);

// alpha / r, or alpha / sqrt(r) with rsLoRA; 0 for r = 0.
double lora_scaling(int64_t r, double alpha, bool use_rslora);

}  // namespace lightpeft
