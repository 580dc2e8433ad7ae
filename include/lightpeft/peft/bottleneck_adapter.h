#pragma once
// A bottleneck adapter after a linear layer, as the "output_adapter" of LLM-Adapters' bottleneck.py
// that Light-PEFT vendors: with y = base(x),
//   out = y + scaling * adapter_up(act(adapter_down(adapter_dropout(y))))
// adapter_down is (width, out) and adapter_up (out, width), both without bias. Wrapping
// attention.output.dense and the FFN output.dense is Houlsby's placement, the FFN output.dense
// alone Pfeiffer's. The bottleneck width prunes like a LoRA rank (down = A, up = B).
#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "lightpeft/models/dropout.h"
#include "lightpeft/models/linear.h"
#include "lightpeft/peft/peft_layer.h"

namespace lightpeft {

struct AdapterOptions {
  std::string non_linearity = "relu";  // relu | gelu (erf) | gelu_new | tanh | silu
  double dropout = 0.1;
  double scaling = 1.0;
  // "bert": both weights N(0, 0.02) (Light-PEFT's default); "zero_up": down N(0, 0.02), up zeros,
  // so the adapter starts as the identity.
  std::string init_weights = "bert";
};

class BottleneckAdapterImpl : public PeftLayer {
 public:
  BottleneckAdapterImpl(Dense base, int64_t bottleneck_size, AdapterOptions options = {});

  torch::Tensor forward(const torch::Tensor& x) override;
  void pretty_print(std::ostream& stream) const override;
  int64_t rank() const override { return width_; }
  torch::Tensor rank_factor_in() const override { return width_ > 0 ? adapter_down->weight : torch::Tensor(); }
  torch::Tensor rank_factor_out() const override { return width_ > 0 ? adapter_up->weight : torch::Tensor(); }

  // scaling * up(act(down(dropout(y)))) for the base output y; undefined for width 0.
  torch::Tensor adapter_delta(const torch::Tensor& base_output);
  int64_t bottleneck_size() const { return width_; }
  const AdapterOptions& options() const { return options_; }
  void reset_adapter_parameters();

  // Keeps these bottleneck units (rows of down, columns of up); none removes the adapter.
  void keep_ranks(const std::vector<int64_t>& ranks) override;
  // dim 1 (input columns) touches the base only: the adapter sees the base's output. dim 0 slices
  // the base's output rows, up's rows and down's columns.
  void prune(const torch::Tensor& index, int64_t dim) override;

  Dense adapter_down{nullptr};  // (width, out), null for width 0
  Dense adapter_up{nullptr};    // (out, width), null for width 0
  Dropout adapter_dropout{nullptr};

 protected:
  std::pair<const char*, const char*> factor_names() const override {
    return {"adapter_down", "adapter_up"};
  }

 private:
  int64_t width_;
  AdapterOptions options_;
};
TORCH_MODULE(BottleneckAdapter);

}  // namespace lightpeft
