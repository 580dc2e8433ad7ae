// The model families lightpeft implements: one line each.
#include <algorithm>

#include "lightpeft/core/error.h"
#include "lightpeft/models/family.h"

namespace lightpeft {

const std::vector<ModelFamily>& model_families() {
  static const std::vector<ModelFamily> families = {
      bert_family(),
      roberta_family(),
      llama_family(),
      mistral_family(),
      opt_family(),
      gpt2_family(),
  };
  return families;
}

const ModelFamily& model_family(const std::string& model_type, const std::string& origin) {
  for (const auto& f : model_families())
    if (f.model_type == model_type) return f;
  std::string known;
  for (const auto& f : model_families()) known += (known.empty() ? "" : ", ") + f.model_type;
  throw_error(origin, ": key 'model_type': unsupported model type '", model_type,
              "' (supported: ", known, ")");
}

bool ModelFamily::supports(HeadKind head) const {
  return std::find(heads.begin(), heads.end(), head) != heads.end();
}

}  // namespace lightpeft
