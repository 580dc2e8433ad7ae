// load_tokenizer (declared in tokenizer.h): picks the reader for a model directory or file.
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/tokenizers/byte_bpe.h"
#include "lightpeft/tokenizers/hf_tokenizer_json.h"
#include "lightpeft/tokenizers/tokenizer_config.h"
#include "lightpeft/tokenizers/wordpiece.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;

// tokenizer_config.json beside the vocabulary, or the defaults.
TokenizerConfig config_in(const fs::path& dir) {
  const fs::path path = dir / "tokenizer_config.json";
  return fs::is_regular_file(path) ? read_tokenizer_config(path) : TokenizerConfig{};
}

std::unique_ptr<Tokenizer> load_wordpiece_dir(const fs::path& vocab_txt) {
  const TokenizerConfig config = config_in(vocab_txt.parent_path());
  BertNormalizerOptions options;
  options.lowercase = config.do_lower_case.value_or(true);
  options.handle_chinese_chars = config.tokenize_chinese_chars.value_or(true);
  options.strip_accents = config.strip_accents;
  return WordPieceTokenizer::from_vocab_txt(vocab_txt, options);
}

std::unique_ptr<Tokenizer> load_byte_bpe_dir(const fs::path& dir) {
  const TokenizerConfig config = config_in(dir);
  return ByteBpeTokenizer::from_files(dir / "vocab.json", dir / "merges.txt",
                                      config.add_prefix_space.value_or(false));
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
