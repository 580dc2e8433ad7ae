#pragma once
// Word + absolute position + token type embeddings, LayerNorm, dropout: HF BertEmbeddings /
// RobertaEmbeddings (registered as "embeddings").
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include "lightpeft/models/dropout.h"
#include "lightpeft/models/model_config.h"

namespace lightpeft {

// How position ids are made: BERT counts 0..T-1; RoBERTa counts non-padding tokens from
// pad_token_id + 1 and gives padding pad_token_id (HF create_position_ids_from_input_ids).
enum class PositionIds { sequential, after_padding_idx };

class EmbeddingsImpl : public torch::nn::Module {
 public:
  EmbeddingsImpl(const ModelConfig& config, PositionIds positions);
  // input_ids (B, T) int64; token_type_ids (B, T) or undefined (zeros).
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& token_type_ids = {});
  torch::Tensor position_ids(const torch::Tensor& input_ids) const;

  torch::nn::Embedding word_embeddings{nullptr};
  torch::nn::Embedding position_embeddings{nullptr};
  torch::nn::Embedding token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: the HF key is "LayerNorm"
  Dropout dropout{nullptr};

 private:
  PositionIds positions_;
  int64_t pad_token_id_;
};
TORCH_MODULE(Embeddings);

}  // namespace lightpeft
