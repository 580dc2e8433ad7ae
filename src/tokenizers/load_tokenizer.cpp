// load_tokenizer (declared in tokenizer.h): picks the reader for a model directory or file.
#include <fstream>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/tokenizers/byte_bpe.h"
#include "lightpeft/tokenizers/hf_tokenizer_json.h"
#include "lightpeft/tokenizers/wordpiece.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;

// tokenizer_config.json beside the vocabulary, or an empty object.
nlohmann::json read_tokenizer_config(const fs::path& dir) {
  const fs::path path = dir / "tokenizer_config.json";
  if (!fs::is_regular_file(path)) return nlohmann::json::object();
  std::ifstream in(path, std::ios::binary);
  try {
    nlohmann::json doc = nlohmann::json::parse(in);
    LP_CHECK(doc.is_object(), path.string(), ": expected a JSON object");
    return doc;
  } catch (const nlohmann::json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw_error(path.string(), ": not valid JSON (", e.what(), ")");
  }
}

template <typename T>
T config_value(const nlohmann::json& config, const fs::path& dir, const char* key, T fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return fallback;
  try {
    return it->get<T>();
  } catch (const nlohmann::json::exception&) {
    throw_error((dir / "tokenizer_config.json").string(), ": key '", key,
                "': expected a value of another type, got ", it->type_name());
  }
}

std::unique_ptr<Tokenizer> load_wordpiece_dir(const fs::path& vocab_txt) {
  const fs::path dir = vocab_txt.parent_path();
  const nlohmann::json config = read_tokenizer_config(dir);
  BertNormalizerOptions options;
  options.lowercase = config_value<bool>(config, dir, "do_lower_case", true);
  options.handle_chinese_chars = config_value<bool>(config, dir, "tokenize_chinese_chars", true);
  auto strip = config.find("strip_accents");
  if (strip != config.end() && strip->is_boolean()) options.strip_accents = strip->get<bool>();
  return WordPieceTokenizer::from_vocab_txt(vocab_txt, options);
}

std::unique_ptr<Tokenizer> load_byte_bpe_dir(const fs::path& dir) {
  const nlohmann::json config = read_tokenizer_config(dir);
  return ByteBpeTokenizer::from_files(dir / "vocab.json", dir / "merges.txt",
                                      config_value<bool>(config, dir, "add_prefix_space", false));
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer(const fs::path& model_dir_or_file) {
  const fs::path& p = model_dir_or_file;
  if (fs::is_directory(p)) {
    if (fs::is_regular_file(p / "tokenizer.json")) {
      log::debug("tokenizer: reading ", (p / "tokenizer.json").string());
      return load_hf_tokenizer_json(p / "tokenizer.json");
    }
    if (fs::is_regular_file(p / "vocab.txt")) {
      log::debug("tokenizer: reading WordPiece ", (p / "vocab.txt").string());
      return load_wordpiece_dir(p / "vocab.txt");
    }
    if (fs::is_regular_file(p / "vocab.json") || fs::is_regular_file(p / "merges.txt")) {
      log::debug("tokenizer: reading byte-level BPE from ", p.string());
      return load_byte_bpe_dir(p);
    }
    throw_error(p.string(), ": no tokenizer found (expected tokenizer.json, vocab.txt, or vocab.json ",
                "with merges.txt in this directory)");
  }
  LP_CHECK(fs::is_regular_file(p), p.string(),
           ": no such file or directory (expected a tokenizer file or a model directory)");
  if (p.filename() == "vocab.json" || p.filename() == "merges.txt") {
    return load_byte_bpe_dir(p.parent_path());
  }
  if (p.extension() == ".json") return load_hf_tokenizer_json(p);
  return load_wordpiece_dir(p);
}

}  // namespace lightpeft
