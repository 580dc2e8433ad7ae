#include "lightpeft/models/embeddings.h"

#include <ATen/ops/arange.h>
#include <ATen/ops/cumsum.h>
#include <ATen/ops/zeros_like.h>

#include "lightpeft/core/error.h"

namespace lightpeft {

EmbeddingsImpl::EmbeddingsImpl(const ModelConfig& c, PositionIds positions)
    : positions_(positions), pad_token_id_(c.pad_token_id) {
  word_embeddings = register_module(
      "word_embeddings",
      torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size)
                               .padding_idx(c.pad_token_id)));
  auto pos = torch::nn::EmbeddingOptions(c.max_position_embeddings, c.hidden_size);
  if (positions == PositionIds::after_padding_idx) pos.padding_idx(c.pad_token_id);
  position_embeddings = register_module("position_embeddings", torch::nn::Embedding(pos));
  // type_vocab_size 0 never happens for HF models; keep one row so the lookup stays valid.
  token_type_embeddings = register_module(
      "token_type_embeddings",
      torch::nn::Embedding(std::max<int64_t>(c.type_vocab_size, 1), c.hidden_size));
  LayerNorm = register_module(
      "LayerNorm",
      torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.hidden_size}).eps(c.layer_norm_eps)));
  dropout = register_module("dropout", Dropout(c.hidden_dropout_prob));
}

torch::Tensor EmbeddingsImpl::position_ids(const torch::Tensor& input_ids) const {
  const int64_t seq = input_ids.size(1);
  if (positions_ == PositionIds::sequential) {
    return at::arange(seq, input_ids.options().dtype(at::kLong)).unsqueeze(0).expand_as(input_ids);
  }
  auto mask = input_ids.ne(pad_token_id_).to(at::kLong);
  return at::cumsum(mask, 1).mul(mask).add(pad_token_id_);
}

torch::Tensor EmbeddingsImpl::forward(const torch::Tensor& input_ids,
                                      const torch::Tensor& token_type_ids) {
  LP_CHECK(input_ids.dim() == 2, "input_ids: expected shape (batch, seq), got ", input_ids.sizes());
  auto pos = position_ids(input_ids);
  LP_CHECK(pos.numel() == 0 || pos.max().item<int64_t>() < position_embeddings->weight.size(0),
           "input of length ", input_ids.size(1), " exceeds max_position_embeddings ",
           position_embeddings->weight.size(0));
  auto types = token_type_ids.defined() ? token_type_ids : at::zeros_like(input_ids);
  auto x = word_embeddings(input_ids) + token_type_embeddings(types) + position_embeddings(pos);
  return dropout(LayerNorm(x));
}

}  // namespace lightpeft
