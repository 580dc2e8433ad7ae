#pragma once
// One interface for the PEFT modules that wrap a linear layer (LoRA, bottleneck adapters): what
// injection, saving, merging, pruning and Light-PEFT's importances need of any of them.
//   rank:        LoRA's r, an adapter's bottleneck width (0: no PEFT weights left)
//   rank factors: A (r, *) whose rows and B (*, r) whose columns index the ranks: lora_A/lora_B,
//                adapter_down/adapter_up; rank importance and rank pruning work on them alone
//   observer:    Light-PEFT's module importance sees each training forward's base output and
//                PEFT update through the layer's own forward (no stand-in module)
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "lightpeft/kernels/lora_linear.h"
#include "lightpeft/models/linear.h"

namespace lightpeft {

// Receives (base output, PEFT update) of PEFT layer `index` in training-mode forwards.
class PeftObserver {
 public:
  virtual ~PeftObserver() = default;
  virtual void observe(size_t index, const torch::Tensor& base_output, const torch::Tensor& delta) = 0;
  // The fused CUDA LoRA kernel computes the ratio on the way: fills `sink` with layer `index`'s
  // slots, or returns false when nothing is recorded this step.
  virtual bool ratio_sink(size_t index, const torch::Tensor& like, kernels::ModuleRatioSink& sink) = 0;
};

class PeftLayer : public LinearLayer {
 public:
  int64_t in_features() const override { return base_layer->in_features(); }
  int64_t out_features() const override { return base_layer->out_features(); }

  virtual int64_t rank() const = 0;
  // A (rank, *) and B (*, rank) as described above; undefined at rank 0.
  virtual torch::Tensor rank_factor_in() const = 0;
  virtual torch::Tensor rank_factor_out() const = 0;
  // Keeps these ranks (distinct, each in [0, rank)); none removes the PEFT weights (rank 0).
  virtual void keep_ranks(const std::vector<int64_t>& ranks) = 0;
  // The trainable PEFT weights by name relative to the layer ("lora_A.weight", ...); empty at rank 0.
  std::vector<std::pair<std::string, torch::Tensor>> peft_weights() const;
  // Whether the update is linear and can be folded into the base weight (LoRA: yes).
  virtual bool mergeable() const { return false; }
  virtual void merge();
  virtual void unmerge();
  bool merged() const { return merged_; }
  // The observer of Light-PEFT's module importance, or null.
  void set_observer(PeftObserver* observer, size_t index) {
    observer_ = observer;
    observer_index_ = index;
  }

  Dense base_layer{nullptr};  // the wrapped linear (frozen); registered as "base_layer"

 protected:
  // The names of the rank factors ("lora_A", "lora_B"), for peft_weights().
  virtual std::pair<const char*, const char*> factor_names() const = 0;

  bool merged_ = false;
  PeftObserver* observer_ = nullptr;
  size_t observer_index_ = 0;
};
using PeftLayerPtr = std::shared_ptr<PeftLayer>;

}  // namespace lightpeft
