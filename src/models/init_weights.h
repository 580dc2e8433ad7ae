#pragma once
// HF's _init_weights as most families do it (private to src/models): linear and embedding weights
// ~ N(0, std), biases 0, an embedding's padding row 0, LayerNorm weight 1 and bias 0, RMSNorm 1.
#include <torch/nn/module.h>

namespace lightpeft::models_detail {

void init_normal_weights(torch::nn::Module& model, double std);

}  // namespace lightpeft::models_detail
