#include "init_weights.h"

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "lightpeft/models/linear.h"
#include "lightpeft/models/norms.h"

namespace lightpeft::models_detail {

void init_normal_weights(torch::nn::Module& model, double std) {
  torch::NoGradGuard no_grad;
  for (const auto& m : model.modules(/*include_self=*/true)) {
    if (auto* dense = dynamic_cast<DenseImpl*>(m.get())) {
      dense->weight.normal_(0.0, std);
      if (dense->bias.defined()) dense->bias.zero_();
    } else if (auto* emb = dynamic_cast<torch::nn::EmbeddingImpl*>(m.get())) {
      emb->weight.normal_(0.0, std);
      if (emb->options.padding_idx()) emb->weight[*emb->options.padding_idx()].zero_();
    } else if (auto* ln = dynamic_cast<torch::nn::LayerNormImpl*>(m.get())) {
      if (ln->weight.defined()) ln->weight.fill_(1.0);
      if (ln->bias.defined()) ln->bias.zero_();
    } else if (auto* rms = dynamic_cast<RmsNormImpl*>(m.get())) {
      rms->weight.fill_(1.0);
    }
  }
}

}  // namespace lightpeft::models_detail
