// The families whose config.json lightpeft reads: one line each.
#include "config_codec.h"

#include "lightpeft/core/error.h"

namespace lightpeft::models_detail {

const std::vector<ConfigCodec>& config_codecs() {
  static const std::vector<ConfigCodec> codecs = {
      bert_config_codec(),
      roberta_config_codec(),
      llama_config_codec(),
      mistral_config_codec(),
      opt_config_codec(),
      gpt2_config_codec(),
  };
  return codecs;
}

const ConfigCodec& config_codec(const std::string& model_type, const std::string& origin) {
  for (const auto& c : config_codecs())
    if (model_type == c.model_type) return c;
  std::string known;
  for (const auto& c : config_codecs()) known += (known.empty() ? "" : ", ") + std::string(c.model_type);
  throw_error(origin, ": key 'model_type': unsupported model type '", model_type,
              "' (supported: ", known, ")");
}

}  // namespace lightpeft::models_detail
