#include "lightpeft/tokenizers/normalizers.h"

#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {

std::string Normalizer::normalize_string(const std::string& text) const {
  NormalizedText normalized(text);
  normalize(normalized);
  return normalized.text();
}

void SequenceNormalizer::normalize(NormalizedText& text) const {
  for (const auto& n : normalizers_) n->normalize(text);
}

void StripAccentsNormalizer::normalize(NormalizedText& text) const {
  text.filter([](char32_t cp) { return !unicode::is_mark(cp); });
}

}  // namespace lightpeft
