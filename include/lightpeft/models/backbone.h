#pragma once
// The body of a model without its task head, as HF's <Family>Model: embeddings, the transformer
// layers and the final norm (BertModel, LlamaModel, OPTModel's decoder, GPT2Model). Registered on
// the task model under the family's base-model prefix ("bert", "model", "transformer"), so its keys
// equal HF's. It exposes what Light-PEFT needs: the layers as PrunableLayer, masks per layer in
// forward, and the input embedding (a tied LM head reads it).
#include <cstdint>
#include <memory>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>

#include "lightpeft/models/model_config.h"
#include "lightpeft/models/model_io.h"
#include "lightpeft/models/prunable.h"

namespace lightpeft {

class BackboneImpl : public torch::nn::Module {
 public:
  // masks: empty, or one entry per layer.
  virtual BackboneOutput forward(const ModelInputs& inputs, const std::vector<LayerMasks>& masks = {},
                                 bool output_hidden_states = false) = 0;
  virtual int64_t num_layers() const = 0;
  virtual PrunableLayer& layer(int64_t index) const = 0;
  // The token embedding matrix (vocab, dim).
  virtual torch::nn::Embedding input_embeddings() const = 0;
  // Decoders attend causally and take a KV cache; encoders see the whole sequence.
  virtual bool is_decoder() const = 0;

  // Recompute each layer in backward instead of keeping its activations (models/checkpointing.h).
  void set_gradient_checkpointing(bool on) { gradient_checkpointing_ = on; }
  bool gradient_checkpointing() const { return gradient_checkpointing_; }

 protected:
  // Whether this forward checkpoints its layers: asked for, training, and recording gradients.
  bool checkpoint_layers() const;

 private:
  bool gradient_checkpointing_ = false;
};
using Backbone = std::shared_ptr<BackboneImpl>;

}  // namespace lightpeft
