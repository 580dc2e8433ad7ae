#include "lightpeft/tokenizers/hf_tokenizer_json.h"

#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/tokenizers/byte_bpe.h"
#include "lightpeft/tokenizers/wordpiece.h"

namespace lightpeft {
namespace {

using nlohmann::json;

// Reads typed values out of one tokenizer.json, naming the file and the key in every error.
class Reader {
 public:
  explicit Reader(std::filesystem::path path) : path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& expected) const {
    throw_error(path_.string(), ": key '", key, "': ", expected);
  }
  [[noreturn]] void unsupported(const std::string& key, const json& value,
                                const std::string& expected) const {
    fail(key, "unsupported value " + value.dump() + " (expected " + expected + ")");
  }
  const json& member(const json& object, const std::string& name, const std::string& key) const {
    auto it = object.find(name);
    if (it == object.end()) fail(key, "missing (expected it to be present)");
    return *it;
  }
  template <typename T>
  T required(const json& object, const std::string& name, const std::string& key) const {
    const json& v = member(object, name, key);
    try {
      return v.get<T>();
    } catch (const json::exception&) {
      fail(key, std::string("expected a value of another type, got ") + v.type_name());
    }
  }
  template <typename T>
  T value(const json& object, const std::string& name, const std::string& key, T fallback) const {
    auto it = object.find(name);
    if (it == object.end() || it->is_null()) return fallback;
    try {
      return it->get<T>();
    } catch (const json::exception&) {
      fail(key, std::string("expected a value of another type, got ") + it->type_name());
    }
  }
  // A string or null member; "" counts as unset where HF treats it so.
  std::optional<std::string> optional_string(const json& object, const std::string& name,
                                             const std::string& key) const {
    auto it = object.find(name);
    if (it == object.end() || it->is_null()) return std::nullopt;
    if (!it->is_string()) fail(key, std::string("expected a string or null, got ") + it->type_name());
    return it->get<std::string>();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

json parse_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  LP_CHECK(in, path.string(), ": cannot open tokenizer.json (expected a readable file)");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  try {
    json doc = json::parse(buffer.str());
    LP_CHECK(doc.is_object(), path.string(), ": expected a JSON object at the top level");
    return doc;
  } catch (const json::exception& e) {  // parse_error, or out_of_range for a number like 1e999
    throw_error(path.string(), ": not valid JSON (", e.what(), ")");
  }
}

AddedTokens read_added_tokens(const Reader& r, const json& doc) {
  AddedTokens added;
  auto it = doc.find("added_tokens");
  if (it == doc.end() || it->is_null()) return added;
  if (!it->is_array()) r.fail("added_tokens", "expected an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string key = "added_tokens[" + std::to_string(i) + "]";
    if (r.value<bool>(t, "single_word", key + ".single_word", false)) {
      r.unsupported(key + ".single_word", true, "false");
    }
    AddedToken token;
    token.content = r.required<std::string>(t, "content", key + ".content");
    token.id = r.required<int64_t>(t, "id", key + ".id");
    token.special = r.value<bool>(t, "special", key + ".special", false);
    token.lstrip = r.value<bool>(t, "lstrip", key + ".lstrip", false);
    token.rstrip = r.value<bool>(t, "rstrip", key + ".rstrip", false);
    token.normalized = r.value<bool>(t, "normalized", key + ".normalized", !token.special);
    added.add(std::move(token));
  }
  return added;
}

Vocab read_vocab_object(const Reader& r, const json& model) {
  const json& v = r.member(model, "vocab", "model.vocab");
  if (!v.is_object()) r.fail("model.vocab", std::string("expected an object {token: id}, got ") + v.type_name());
  Vocab vocab;
  for (const auto& [token, id] : v.items()) {
    if (!id.is_number_integer()) r.fail("model.vocab." + token, "expected an integer id");
    vocab.set(token, id.get<int64_t>());
  }
  return vocab;
}

std::optional<BertNormalizerOptions> read_bert_normalizer(const Reader& r, const json& doc) {
  auto it = doc.find("normalizer");
  if (it == doc.end() || it->is_null()) return std::nullopt;
  const json& n = *it;
  const json type = n.value("type", json());
  if (type != "BertNormalizer") r.unsupported("normalizer.type", type, "BertNormalizer or null");
  BertNormalizerOptions options;
  options.clean_text = r.value<bool>(n, "clean_text", "normalizer.clean_text", true);
  options.handle_chinese_chars =
      r.value<bool>(n, "handle_chinese_chars", "normalizer.handle_chinese_chars", true);
  options.lowercase = r.value<bool>(n, "lowercase", "normalizer.lowercase", true);
  auto strip = n.find("strip_accents");
  if (strip != n.end() && !strip->is_null()) {
    if (!strip->is_boolean()) r.fail("normalizer.strip_accents", "expected true, false or null");
    options.strip_accents = strip->get<bool>();
  }
  return options;
}

void require_no_normalizer(const Reader& r, const json& doc) {
  auto it = doc.find("normalizer");
  if (it != doc.end() && !it->is_null()) {
    r.unsupported("normalizer", it->value("type", json()), "null for a byte-level BPE model");
  }
}

const json& pre_tokenizer(const Reader& r, const json& doc, const char* expected_type) {
  const json& p = r.member(doc, "pre_tokenizer", "pre_tokenizer");
  const json type = p.is_object() ? p.value("type", json()) : json();
  if (type != expected_type) r.unsupported("pre_tokenizer.type", type, expected_type);
  return p;
}

// [token, id] of BertProcessing / RobertaProcessing.
int64_t processor_token_id(const Reader& r, const json& p, const std::string& name,
                           const std::string& key) {
  const json& pair = r.member(p, name, key);
  if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer()) {
    r.fail(key, "expected [token, id]");
  }
  return pair[1].get<int64_t>();
}

std::vector<TemplatePiece> read_template(const Reader& r, const json& pieces, const json& specials,
                                         const std::string& key) {
  if (!pieces.is_array()) r.fail(key, "expected an array of template pieces");
  std::vector<TemplatePiece> out;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string piece_key = key + "[" + std::to_string(i) + "]";
    const json& piece = pieces[i];
    TemplatePiece t;
    if (piece.contains("SpecialToken")) {
      const json& s = piece["SpecialToken"];
      const std::string id = r.required<std::string>(s, "id", piece_key + ".SpecialToken.id");
      t.type_id = r.value<int64_t>(s, "type_id", piece_key + ".SpecialToken.type_id", 0);
      auto special = specials.find(id);
      if (special == specials.end()) {
        r.fail("post_processor.special_tokens", "no entry for '" + id + "' used in " + piece_key);
      }
      t.ids = r.required<std::vector<int64_t>>(*special, "ids",
                                               "post_processor.special_tokens." + id + ".ids");
    } else if (piece.contains("Sequence")) {
      const json& s = piece["Sequence"];
      const json id = r.member(s, "id", piece_key + ".Sequence.id");
      if (id != "A" && id != "B") r.unsupported(piece_key + ".Sequence.id", id, "\"A\" or \"B\"");
      t.kind = id == "A" ? TemplatePiece::Kind::first : TemplatePiece::Kind::second;
      t.type_id = r.value<int64_t>(s, "type_id", piece_key + ".Sequence.type_id", 0);
    } else {
      r.fail(piece_key, "expected a SpecialToken or Sequence piece");
    }
    out.push_back(std::move(t));
  }
  return out;
}

// The one processor of a (possibly Sequence) post_processor that adds special tokens.
SpecialTokensTemplate read_post_processor(const Reader& r, const json& p, const std::string& key) {
  if (p.is_null()) return SpecialTokensTemplate::none();
  const json type = p.value("type", json());
  if (type == "TemplateProcessing") {
    const json specials = p.value("special_tokens", json::object());
    return SpecialTokensTemplate::from_template(
        read_template(r, r.member(p, "single", key + ".single"), specials, key + ".single"),
        read_template(r, r.member(p, "pair", key + ".pair"), specials, key + ".pair"));
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const int64_t cls = processor_token_id(r, p, "cls", key + ".cls");
    const int64_t sep = processor_token_id(r, p, "sep", key + ".sep");
    return type == "BertProcessing" ? SpecialTokensTemplate::bert(cls, sep)
                                    : SpecialTokensTemplate::roberta(cls, sep);
  }
  if (type == "ByteLevel") return SpecialTokensTemplate::none();  // only trims offsets
  if (type == "Sequence") {
    const json& members = r.member(p, "processors", key + ".processors");
    std::optional<SpecialTokensTemplate> found;
    for (size_t i = 0; i < members.size(); ++i) {
      const std::string member_key = key + ".processors[" + std::to_string(i) + "]";
      if (members[i].value("type", json()) == "ByteLevel") continue;
      if (found) r.fail(member_key, "expected at most one processor that adds special tokens");
      found = read_post_processor(r, members[i], member_key);
    }
    return found ? *found : SpecialTokensTemplate::none();
  }
  r.unsupported(key + ".type", type,
                "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence or null");
}

std::optional<int64_t> pad_id(const Reader& r, const json& doc, const Vocab& vocab,
                              const AddedTokens& added) {
  auto padding = doc.find("padding");
  if (padding != doc.end() && padding->is_object() && padding->contains("pad_id")) {
    return r.required<int64_t>(*padding, "pad_id", "padding.pad_id");
  }
  for (const char* token : {"[PAD]", "<pad>"}) {
    if (auto id = added.find(token)) return id;
    if (auto id = vocab.find(token)) return id;
  }
  return std::nullopt;
}

std::unique_ptr<Tokenizer> load_wordpiece(const Reader& r, const json& doc) {
  const json& model = doc["model"];
  pre_tokenizer(r, doc, "BertPreTokenizer");
  WordPieceModel wordpiece(
      read_vocab_object(r, model), r.value<std::string>(model, "unk_token", "model.unk_token", "[UNK]"),
      r.value<std::string>(model, "continuing_subword_prefix", "model.continuing_subword_prefix", "##"),
      r.value<int64_t>(model, "max_input_chars_per_word", "model.max_input_chars_per_word", 100));
  AddedTokens added = read_added_tokens(r, doc);
  auto pad = pad_id(r, doc, wordpiece.vocab(), added);
  return std::make_unique<WordPieceTokenizer>(
      std::move(wordpiece), read_bert_normalizer(r, doc), std::move(added),
      read_post_processor(r, doc.value("post_processor", json()), "post_processor"), pad);
}

std::vector<BpeMerge> read_merges(const Reader& r, const json& model) {
  const json& list = r.member(model, "merges", "model.merges");
  if (!list.is_array()) r.fail("model.merges", "expected an array");
  std::vector<BpeMerge> merges;
  merges.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const json& m = list[i];
    const std::string key = "model.merges[" + std::to_string(i) + "]";
    const auto index = static_cast<int64_t>(i);
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      merges.push_back({m[0].get<std::string>(), m[1].get<std::string>(), index});
      continue;
    }
    if (!m.is_string()) r.fail(key, "expected \"left right\" or [left, right]");
    const std::string s = m.get<std::string>();
    const size_t space = s.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == s.size() ||
        s.find(' ', space + 1) != std::string::npos) {
      r.fail(key, "expected two tokens separated by one space, got \"" + s + "\"");
    }
    merges.push_back({s.substr(0, space), s.substr(space + 1), index});
  }
  return merges;
}

BpeOptions read_bpe_options(const Reader& r, const json& model) {
  auto must_be_empty = [&](const char* name) {
    if (auto v = r.optional_string(model, name, std::string("model.") + name); v && !v->empty()) {
      r.unsupported(std::string("model.") + name, *v, "null or \"\" for byte-level BPE");
    }
  };
  must_be_empty("continuing_subword_prefix");
  must_be_empty("end_of_word_suffix");
  if (auto it = model.find("dropout");
      it != model.end() && !it->is_null() && (!it->is_number() || it->get<double>() != 0.0)) {
    r.unsupported("model.dropout", *it, "null: BPE dropout is a training-time augmentation");
  }
  if (r.value<bool>(model, "byte_fallback", "model.byte_fallback", false)) {
    r.unsupported("model.byte_fallback", true, "false");
  }
  BpeOptions options;
  options.unk_token = r.optional_string(model, "unk_token", "model.unk_token");
  options.fuse_unk = r.value<bool>(model, "fuse_unk", "model.fuse_unk", false);
  options.ignore_merges = r.value<bool>(model, "ignore_merges", "model.ignore_merges", false);
  return options;
}

std::unique_ptr<Tokenizer> load_byte_bpe(const Reader& r, const json& doc) {
  const json& model = doc["model"];
  require_no_normalizer(r, doc);
  const json& pre = pre_tokenizer(r, doc, "ByteLevel");
  if (!r.value<bool>(pre, "use_regex", "pre_tokenizer.use_regex", true)) {
    r.unsupported("pre_tokenizer.use_regex", false, "true");
  }
  const bool add_prefix_space = r.value<bool>(pre, "add_prefix_space", "pre_tokenizer.add_prefix_space", true);
  BpeModel bpe(read_vocab_object(r, model), read_merges(r, model),
               r.path().string() + ": model.merges index", read_bpe_options(r, model));
  AddedTokens added = read_added_tokens(r, doc);
  auto pad = pad_id(r, doc, bpe.vocab(), added);
  return std::make_unique<ByteBpeTokenizer>(
      std::move(bpe), add_prefix_space, std::move(added),
      read_post_processor(r, doc.value("post_processor", json()), "post_processor"), pad);
}

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& path) {
  const json doc = parse_file(path);
  const Reader r(path);
  const json& model = r.member(doc, "model", "model");
  if (!model.is_object()) r.fail("model", "expected an object");
  // Old files may omit model.type; merges then mean BPE.
  const json type = model.value("type", json(model.contains("merges") ? "BPE" : "WordPiece"));
  if (type == "WordPiece") return load_wordpiece(r, doc);
  if (type == "BPE") return load_byte_bpe(r, doc);
  r.unsupported("model.type", type, "\"WordPiece\" or \"BPE\"");
}

}  // namespace lightpeft
