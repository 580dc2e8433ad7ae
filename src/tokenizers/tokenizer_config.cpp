#include "lightpeft/tokenizers/tokenizer_config.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"

namespace lightpeft {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::filesystem::path& path, const char* key, const std::string& what) {
  throw_error(path.string(), ": key '", key, "': ", what);
}

std::optional<bool> flag(const json& doc, const std::filesystem::path& path, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (!it->is_boolean()) fail(path, key, std::string("expected true, false or null, got ") + it->type_name());
  return it->get<bool>();
}

// A special token: "<s>", {"content": "<s>", ...} (a serialized AddedToken) or null.
std::optional<std::string> token(const json& doc, const std::filesystem::path& path, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null()) return std::nullopt;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_object()) {
    auto content = it->find("content");
    if (content != it->end() && content->is_string()) return content->get<std::string>();
  }
  fail(path, key, std::string("expected a token string, an object with a \"content\" string, or null, got ") +
                      it->dump());
}

}  // namespace

TokenizerConfig read_tokenizer_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  LP_CHECK(in, path.string(), ": cannot open tokenizer_config.json (expected a readable file)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  json doc;
  try {
    doc = json::parse(buffer.str());
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw_error(path.string(), ": not valid JSON (", e.what(), ")");
  }
  LP_CHECK(doc.is_object(), path.string(), ": expected a JSON object at the top level");
  TokenizerConfig config;
  config.bos_token = token(doc, path, "bos_token");
  config.eos_token = token(doc, path, "eos_token");
  config.pad_token = token(doc, path, "pad_token");
  config.clean_up_tokenization_spaces = flag(doc, path, "clean_up_tokenization_spaces").value_or(false);
  config.do_lower_case = flag(doc, path, "do_lower_case");
  config.tokenize_chinese_chars = flag(doc, path, "tokenize_chinese_chars");
  config.strip_accents = flag(doc, path, "strip_accents");
  config.add_prefix_space = flag(doc, path, "add_prefix_space");
  return config;
}

}  // namespace lightpeft
