#include "lightpeft/tokenizers/vocab.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {

// Ids index a dense table, so a stray huge id in a vocabulary file would allocate gigabytes; the
// largest real vocabularies have a few hundred thousand entries.
constexpr int64_t kMaxTokenId = (int64_t{1} << 24) - 1;

void Vocab::set(const std::string& token, int64_t id) {
  LP_CHECK(id >= 0, "vocabulary token '", token, "': expected a non-negative id, got ", id);
  LP_CHECK(id <= kMaxTokenId, "vocabulary token '", token, "': id ", id, " is beyond the largest supported id ",
           kMaxTokenId);
  ids_[token] = id;
  if (id >= id_bound()) {
    tokens_.resize(static_cast<size_t>(id) + 1);
    has_token_.resize(static_cast<size_t>(id) + 1, false);
  }
  tokens_[static_cast<size_t>(id)] = token;
  has_token_[static_cast<size_t>(id)] = true;
}

std::optional<int64_t> Vocab::find(const std::string& token) const {
  auto it = ids_.find(token);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

const std::string* Vocab::token(int64_t id) const {
  if (id < 0 || id >= id_bound() || !has_token_[static_cast<size_t>(id)]) return nullptr;
  return &tokens_[static_cast<size_t>(id)];
}

namespace {

std::string read_text(const std::filesystem::path& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  LP_CHECK(in, path.string(), ": cannot open the ", what, " (expected a readable file)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

Vocab read_vocab_txt(const std::filesystem::path& path) {
  const std::string text = read_text(path, "WordPiece vocabulary");
  Vocab vocab;
  int64_t id = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string token = text.substr(start, end - start);
    try {
      unicode::decode_utf8(token);  // as HF, which reads the file as UTF-8 text
    } catch (const Error& e) {
      throw_error(path.string(), ":", id + 1, ": the token is not valid UTF-8 (", e.what(), ")");
    }
    vocab.set(token, id++);
    start = end + 1;
  }
  LP_CHECK(vocab.size() > 0, path.string(), ": empty vocabulary (expected one token per line)");
  return vocab;
}

Vocab read_vocab_json(const std::filesystem::path& path) {
  const std::string text = read_text(path, "BPE vocabulary");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw_error(path.string(), ": not valid JSON (", e.what(), ")");
  }
  LP_CHECK(doc.is_object(), path.string(), ": expected a JSON object {token: id}, got ",
           doc.type_name());
  Vocab vocab;
  for (const auto& [token, id] : doc.items()) {
    LP_CHECK(id.is_number_integer(), path.string(), ": key '", token,
             "': expected an integer id, got ", id.type_name());
    try {
      vocab.set(token, id.get<int64_t>());
    } catch (const Error& e) {
      throw_error(path.string(), ": ", e.what());
    }
  }
  return vocab;
}

}  // namespace lightpeft
