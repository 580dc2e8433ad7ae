#include "lightpeft/models/decoder_layers.h"

#include "lightpeft/core/error.h"

namespace lightpeft {

DecoderStep begin_decoder_step(const ModelInputs& in, const std::vector<LayerMasks>& masks,
                               size_t layers, const char* model) {
  LP_CHECK(in.input_ids.defined() && in.input_ids.dim() == 2, model,
           ": input_ids of shape (batch, seq) is required");
  LP_CHECK(masks.empty() || masks.size() == layers, model, ": got ", masks.size(), " layer masks for ",
           layers, " layers");
  DecoderStep s;
  s.batch = in.input_ids.size(0);
  s.seq = in.input_ids.size(1);
  s.cache = in.cache;
  s.past = s.cache ? s.cache->length : 0;
  if (s.cache && s.cache->keys.empty()) {
    s.cache->keys.resize(layers);
    s.cache->values.resize(layers);
  }
  return s;
}

}  // namespace lightpeft
