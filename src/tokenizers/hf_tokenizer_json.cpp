#include "lightpeft/tokenizers/hf_tokenizer_json.h"

#include <fstream>
#include <sstream>
#include <utility>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/tokenizers/bpe_model.h"
#include "lightpeft/tokenizers/tokenizer_config.h"
#include "lightpeft/tokenizers/unicode.h"
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

// HF does not take the ids of added_tokens from the file: it gives each token the id of the same
// string in the vocabulary (or of an earlier added token), else the next free id from the number of
// vocabulary entries on, and warns where that differs from the file. Same here, for the same ids.
AddedTokens read_added_tokens(const Reader& r, const json& doc, const Vocab& vocab) {
  AddedTokens added;
  auto it = doc.find("added_tokens");
  if (it == doc.end() || it->is_null()) return added;
  if (!it->is_array()) r.fail("added_tokens", "expected an array");
  int64_t next_id = vocab.size();
  for (size_t i = 0; i < it->size(); ++i) {
    const json& t = (*it)[i];
    const std::string key = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) r.fail(key, "expected an object");
    AddedToken token;
    token.content = r.required<std::string>(t, "content", key + ".content");
    token.id = r.required<int64_t>(t, "id", key + ".id");
    token.special = r.value<bool>(t, "special", key + ".special", false);
    token.lstrip = r.value<bool>(t, "lstrip", key + ".lstrip", false);
    token.rstrip = r.value<bool>(t, "rstrip", key + ".rstrip", false);
    token.single_word = r.value<bool>(t, "single_word", key + ".single_word", false);
    token.normalized = r.value<bool>(t, "normalized", key + ".normalized", !token.special);
    if (token.content.empty()) {
      log::warn(r.path().string(), ": key '", key, ".content': an empty added token is ignored (as HF does)");
      continue;
    }
    const int64_t file_id = token.id;
    if (auto id = added.find(token.content)) {
      token.id = *id;
    } else if (auto vocab_id = vocab.find(token.content)) {
      token.id = *vocab_id;
    } else {
      token.id = next_id++;
    }
    if (token.id != file_id) {
      log::warn(r.path().string(), ": key '", key, ".id': token '", token.content, "' has id ", file_id,
                " in the file but gets id ", token.id, " (HF tokenizers assigns added token ids so)");
    }
    if (token.id > (int64_t{1} << 24)) r.fail(key + ".id", "the added token ids run past 2^24");
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
    try {
      vocab.set(token, id.get<int64_t>());
    } catch (const Error& e) {
      r.fail("model.vocab." + token, e.what());
    }
  }
  return vocab;
}

// Sequence members nest; a limit keeps a hostile file from exhausting the stack.
constexpr int kMaxNesting = 16;

const json& type_of(const Reader& r, const json& object, const std::string& key) {
  if (!object.is_object()) r.fail(key, std::string("expected an object, got ") + object.type_name());
  auto it = object.find("type");
  if (it == object.end() || !it->is_string()) r.fail(key + ".type", "expected a type name");
  return *it;
}

const json& array_member(const Reader& r, const json& object, const std::string& name,
                         const std::string& key) {
  const json& a = r.member(object, name, key);
  if (!a.is_array()) r.fail(key, std::string("expected an array, got ") + a.type_name());
  return a;
}

// One character (UTF-8), as HF's `char` fields.
std::string one_char(const Reader& r, const json& object, const std::string& name, const std::string& key) {
  const std::string s = r.required<std::string>(object, name, key);
  std::u32string chars;
  try {
    chars = unicode::decode_utf8(s);
  } catch (const Error& e) {
    r.fail(key, e.what());
  }
  if (chars.size() != 1) r.fail(key, "expected exactly one character, got \"" + s + "\"");
  return s;
}

// A {"String": s} pattern (the only kind implemented for Replace): the literal s, not empty.
std::string literal_pattern(const Reader& r, const json& object, const std::string& key) {
  const json& pattern = r.member(object, "pattern", key);
  if (pattern.is_object() && pattern.contains("String")) {
    const std::string s = r.required<std::string>(pattern, "String", key + ".String");
    if (s.empty()) r.fail(key + ".String", "expected a non-empty string");
    return s;
  }
  if (pattern.is_object() && pattern.contains("Regex")) {
    r.unsupported(key + ".Regex", pattern["Regex"], "a {\"String\": ...} pattern: regex replacements are not implemented");
  }
  r.fail(key, "expected {\"String\": ...} or {\"Regex\": ...}");
}

std::unique_ptr<Normalizer> read_normalizer(const Reader& r, const json& n, const std::string& key,
                                            int depth) {
  if (depth > kMaxNesting) r.fail(key, "Sequence nested too deeply (expected at most 16 levels)");
  const json& type = type_of(r, n, key);
  if (type == "BertNormalizer") {
    BertNormalizerOptions options;
    options.clean_text = r.value<bool>(n, "clean_text", key + ".clean_text", true);
    options.handle_chinese_chars =
        r.value<bool>(n, "handle_chinese_chars", key + ".handle_chinese_chars", true);
    options.lowercase = r.value<bool>(n, "lowercase", key + ".lowercase", true);
    auto strip = n.find("strip_accents");
    if (strip != n.end() && !strip->is_null()) {
      if (!strip->is_boolean()) r.fail(key + ".strip_accents", "expected true, false or null");
      options.strip_accents = strip->get<bool>();
    }
    return std::make_unique<BertNormalizer>(options);
  }
  if (type == "Sequence") {
    const json& members = array_member(r, n, "normalizers", key + ".normalizers");
    std::vector<std::unique_ptr<Normalizer>> out;
    for (size_t i = 0; i < members.size(); ++i) {
      out.push_back(read_normalizer(r, members[i], key + ".normalizers[" + std::to_string(i) + "]", depth + 1));
    }
    return std::make_unique<SequenceNormalizer>(std::move(out));
  }
  if (type == "Prepend") {
    return std::make_unique<PrependNormalizer>(r.required<std::string>(n, "prepend", key + ".prepend"));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceNormalizer>(literal_pattern(r, n, key + ".pattern"),
                                               r.required<std::string>(n, "content", key + ".content"));
  }
  if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
  if (type == "NFC") return std::make_unique<NfcNormalizer>();
  if (type == "NFD") return std::make_unique<NfdNormalizer>();
  if (type == "StripAccents") return std::make_unique<StripAccentsNormalizer>();
  if (type == "Strip") {
    return std::make_unique<StripNormalizer>(r.value<bool>(n, "strip_left", key + ".strip_left", true),
                                             r.value<bool>(n, "strip_right", key + ".strip_right", true));
  }
  r.unsupported(key + ".type", type,
                "BertNormalizer, Sequence, Prepend, Replace, Lowercase, NFC, NFD, StripAccents, Strip or null");
}

SplitBehavior read_behavior(const Reader& r, const json& object, const std::string& key) {
  const json& b = r.member(object, "behavior", key);
  if (b == "Removed") return SplitBehavior::removed;
  if (b == "Isolated") return SplitBehavior::isolated;
  if (b == "MergedWithPrevious") return SplitBehavior::merged_with_previous;
  if (b == "MergedWithNext") return SplitBehavior::merged_with_next;
  if (b == "Contiguous") return SplitBehavior::contiguous;
  r.unsupported(key, b, "Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
}

// Metaspace's prepend_scheme, with the older add_prefix_space read as HF does.
PrependScheme read_prepend_scheme(const Reader& r, const json& object, const std::string& key) {
  PrependScheme scheme = PrependScheme::always;
  auto it = object.find("prepend_scheme");
  if (it != object.end() && !it->is_null()) {
    if (*it == "first") {
      scheme = PrependScheme::first;
    } else if (*it == "always") {
      scheme = PrependScheme::always;
    } else if (*it == "never") {
      scheme = PrependScheme::never;
    } else {
      r.unsupported(key + ".prepend_scheme", *it, "\"first\", \"always\" or \"never\"");
    }
  }
  auto legacy = object.find("add_prefix_space");
  if (legacy != object.end() && legacy->is_boolean() && !legacy->get<bool>()) {
    if (scheme != PrependScheme::never && it != object.end() && !it->is_null()) {
      r.fail(key + ".add_prefix_space", "false does not match prepend_scheme " + it->dump() +
                                            " (expected prepend_scheme \"never\" with it)");
    }
    scheme = PrependScheme::never;
  }
  return scheme;
}

std::unique_ptr<PreTokenizer> read_pre_tokenizer(const Reader& r, const json& p, const std::string& key,
                                                 int depth) {
  if (depth > kMaxNesting) r.fail(key, "Sequence nested too deeply (expected at most 16 levels)");
  const json& type = type_of(r, p, key);
  if (type == "BertPreTokenizer") return std::make_unique<BertPreTokenizer>();
  if (type == "WhitespaceSplit") return std::make_unique<WhitespaceSplitPreTokenizer>();
  if (type == "ByteLevel") {
    return std::make_unique<ByteLevelPreTokenizer>(
        r.value<bool>(p, "add_prefix_space", key + ".add_prefix_space", true),
        r.value<bool>(p, "use_regex", key + ".use_regex", true));
  }
  if (type == "Split") {
    const SplitBehavior behavior = read_behavior(r, p, key + ".behavior");
    const bool invert = r.value<bool>(p, "invert", key + ".invert", false);
    const json& pattern = r.member(p, "pattern", key + ".pattern");
    if (pattern.is_object() && pattern.contains("Regex")) {
      const std::string regex = r.required<std::string>(pattern, "Regex", key + ".pattern.Regex");
      auto scanner = SplitRegex::recognise(regex);
      if (!scanner) {
        r.fail(key + ".pattern.Regex", "unsupported regex \"" + regex +
                                           "\" (expected one of the patterns lightpeft implements:\n" +
                                           SplitRegex::known_patterns() + ")");
      }
      return std::make_unique<SplitPreTokenizer>(*scanner, behavior, invert);
    }
    return std::make_unique<SplitPreTokenizer>(literal_pattern(r, p, key + ".pattern"), behavior, invert);
  }
  if (type == "Digits") {
    return std::make_unique<DigitsPreTokenizer>(
        r.value<bool>(p, "individual_digits", key + ".individual_digits", false));
  }
  if (type == "Metaspace") {
    return std::make_unique<MetaspacePreTokenizer>(one_char(r, p, "replacement", key + ".replacement"),
                                                   read_prepend_scheme(r, p, key),
                                                   r.value<bool>(p, "split", key + ".split", true));
  }
  if (type == "Sequence") {
    const json& members = array_member(r, p, "pretokenizers", key + ".pretokenizers");
    std::vector<std::unique_ptr<PreTokenizer>> out;
    for (size_t i = 0; i < members.size(); ++i) {
      out.push_back(read_pre_tokenizer(r, members[i], key + ".pretokenizers[" + std::to_string(i) + "]",
                                       depth + 1));
    }
    return std::make_unique<SequencePreTokenizer>(std::move(out));
  }
  r.unsupported(key + ".type", type,
                "BertPreTokenizer, WhitespaceSplit, ByteLevel, Split, Digits, Metaspace, Sequence or null");
}

std::unique_ptr<Decoder> read_decoder(const Reader& r, const json& d, const std::string& key, int depth) {
  if (depth > kMaxNesting) r.fail(key, "Sequence nested too deeply (expected at most 16 levels)");
  const json& type = type_of(r, d, key);
  if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
  if (type == "WordPiece") {
    return std::make_unique<WordPieceDecoder>(r.value<std::string>(d, "prefix", key + ".prefix", "##"),
                                              r.value<bool>(d, "cleanup", key + ".cleanup", true));
  }
  if (type == "Metaspace") {
    return std::make_unique<MetaspaceDecoder>(one_char(r, d, "replacement", key + ".replacement"),
                                              read_prepend_scheme(r, d, key));
  }
  if (type == "Replace") {
    return std::make_unique<ReplaceDecoder>(literal_pattern(r, d, key + ".pattern"),
                                            r.required<std::string>(d, "content", key + ".content"));
  }
  if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
  if (type == "Fuse") return std::make_unique<FuseDecoder>();
  if (type == "Strip") {
    const std::string content = one_char(r, d, "content", key + ".content");
    const int64_t start = r.value<int64_t>(d, "start", key + ".start", 0);
    const int64_t stop = r.value<int64_t>(d, "stop", key + ".stop", 0);
    if (start < 0 || stop < 0) r.fail(key, "expected non-negative start and stop");
    return std::make_unique<StripDecoder>(unicode::decode_utf8(content)[0], static_cast<size_t>(start),
                                          static_cast<size_t>(stop));
  }
  if (type == "BPEDecoder") {
    return std::make_unique<BpeDecoder>(r.value<std::string>(d, "suffix", key + ".suffix", "</w>"));
  }
  if (type == "Sequence") {
    const json& members = array_member(r, d, "decoders", key + ".decoders");
    std::vector<std::unique_ptr<Decoder>> out;
    for (size_t i = 0; i < members.size(); ++i) {
      out.push_back(read_decoder(r, members[i], key + ".decoders[" + std::to_string(i) + "]", depth + 1));
    }
    return std::make_unique<SequenceDecoder>(std::move(out));
  }
  r.unsupported(key + ".type", type,
                "ByteLevel, WordPiece, Metaspace, Replace, ByteFallback, Fuse, Strip, BPEDecoder, Sequence or null");
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
  if (!specials.is_object()) r.fail("post_processor.special_tokens", "expected an object");
  std::vector<TemplatePiece> out;
  for (size_t i = 0; i < pieces.size(); ++i) {
    const std::string piece_key = key + "[" + std::to_string(i) + "]";
    const json& piece = pieces[i];
    if (!piece.is_object()) r.fail(piece_key, "expected a SpecialToken or Sequence piece");
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
      for (int64_t token_id : t.ids) {
        if (token_id < 0) r.fail("post_processor.special_tokens." + id + ".ids", "expected non-negative ids");
      }
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

// The one processor of a (possibly Sequence) post_processor that adds special tokens; `trim` is set
// when a ByteLevel or RobertaProcessing member trims offsets.
SpecialTokensTemplate read_post_processor(const Reader& r, const json& p, const std::string& key,
                                          std::optional<OffsetTrimming>& trim) {
  if (p.is_null()) return SpecialTokensTemplate::none();
  const json& type = type_of(r, p, key);
  auto read_trim = [&] {
    if (r.value<bool>(p, "trim_offsets", key + ".trim_offsets", true)) {
      trim = OffsetTrimming{r.value<bool>(p, "add_prefix_space", key + ".add_prefix_space", true)};
    }
  };
  if (type == "TemplateProcessing") {
    const json specials = p.value("special_tokens", json::object());
    return SpecialTokensTemplate::from_template(
        read_template(r, r.member(p, "single", key + ".single"), specials, key + ".single"),
        read_template(r, r.member(p, "pair", key + ".pair"), specials, key + ".pair"));
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const int64_t cls = processor_token_id(r, p, "cls", key + ".cls");
    const int64_t sep = processor_token_id(r, p, "sep", key + ".sep");
    if (type == "BertProcessing") return SpecialTokensTemplate::bert(cls, sep);
    read_trim();
    return SpecialTokensTemplate::roberta(cls, sep);
  }
  if (type == "ByteLevel") {  // trims offsets, adds nothing
    read_trim();
    return SpecialTokensTemplate::none();
  }
  if (type == "Sequence") {
    const json& members = array_member(r, p, "processors", key + ".processors");
    std::optional<SpecialTokensTemplate> found;
    for (size_t i = 0; i < members.size(); ++i) {
      const std::string member_key = key + ".processors[" + std::to_string(i) + "]";
      if (type_of(r, members[i], member_key) == "Sequence") {
        r.unsupported(member_key + ".type", "Sequence", "a processor other than Sequence inside a Sequence");
      }
      SpecialTokensTemplate t = read_post_processor(r, members[i], member_key, trim);
      if (members[i]["type"] == "ByteLevel") continue;
      if (found) r.fail(member_key, "expected at most one processor that adds special tokens");
      found = std::move(t);
    }
    return found ? *found : SpecialTokensTemplate::none();
  }
  r.unsupported(key + ".type", type,
                "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence or null");
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
      r.unsupported(std::string("model.") + name, *v, "null or \"\" (sub-word affixes are not implemented for BPE)");
    }
  };
  must_be_empty("continuing_subword_prefix");
  must_be_empty("end_of_word_suffix");
  if (auto it = model.find("dropout");
      it != model.end() && !it->is_null() && (!it->is_number() || it->get<double>() != 0.0)) {
    r.unsupported("model.dropout", *it, "null: BPE dropout is a training-time augmentation");
  }
  BpeOptions options;
  options.unk_token = r.optional_string(model, "unk_token", "model.unk_token");
  options.fuse_unk = r.value<bool>(model, "fuse_unk", "model.fuse_unk", false);
  options.ignore_merges = r.value<bool>(model, "ignore_merges", "model.ignore_merges", false);
  options.byte_fallback = r.value<bool>(model, "byte_fallback", "model.byte_fallback", false);
  return options;
}

std::unique_ptr<TokenizerModel> read_model(const Reader& r, const json& model) {
  // Old files may omit model.type; merges then mean BPE.
  const json type = model.value("type", json(model.contains("merges") ? "BPE" : "WordPiece"));
  if (type == "WordPiece") {
    return std::make_unique<WordPieceModel>(
        read_vocab_object(r, model), r.value<std::string>(model, "unk_token", "model.unk_token", "[UNK]"),
        r.value<std::string>(model, "continuing_subword_prefix", "model.continuing_subword_prefix", "##"),
        r.value<int64_t>(model, "max_input_chars_per_word", "model.max_input_chars_per_word", 100));
  }
  if (type == "BPE") {
    return std::make_unique<BpeModel>(read_vocab_object(r, model), read_merges(r, model),
                                      r.path().string() + ": model.merges index", read_bpe_options(r, model));
  }
  r.unsupported("model.type", type, "\"WordPiece\" or \"BPE\"");
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

}  // namespace

std::unique_ptr<Tokenizer> load_hf_tokenizer_json(const std::filesystem::path& path) {
  const json doc = parse_file(path);
  const Reader r(path);
  const json& model = r.member(doc, "model", "model");
  if (!model.is_object()) r.fail("model", "expected an object");

  TokenizerParts parts;
  parts.model = read_model(r, model);
  if (auto it = doc.find("normalizer"); it != doc.end() && !it->is_null()) {
    parts.normalizer = read_normalizer(r, *it, "normalizer", 0);
  }
  // Required (null for none): a file without the key is more likely broken than meant so.
  if (const json& pre = r.member(doc, "pre_tokenizer", "pre_tokenizer"); !pre.is_null()) {
    parts.pre_tokenizer = read_pre_tokenizer(r, pre, "pre_tokenizer", 0);
  }
  parts.post = read_post_processor(r, doc.value("post_processor", json()), "post_processor",
                                   parts.trim_offsets);
  if (auto it = doc.find("decoder"); it != doc.end() && !it->is_null()) {
    parts.decoder = read_decoder(r, *it, "decoder", 0);
  }
  parts.added = read_added_tokens(r, doc, parts.model->vocab());
  parts.pad_id = pad_id(r, doc, parts.model->vocab(), parts.added);
  parts.bos_id = parts.post.leading_special();
  parts.eos_id = parts.post.trailing_special();

  // transformers reads the special tokens from tokenizer_config.json beside the file.
  const auto config_path = path.parent_path() / "tokenizer_config.json";
  if (std::filesystem::is_regular_file(config_path)) {
    const TokenizerConfig config = read_tokenizer_config(config_path);
    auto resolve = [&](const std::optional<std::string>& token, const char* key) -> std::optional<int64_t> {
      if (!token) return std::nullopt;
      if (auto id = parts.added.find(*token)) return id;
      if (auto id = parts.model->vocab().find(*token)) return id;
      throw_error(config_path.string(), ": key '", key, "': '", *token, "' is not a token of ",
                  path.string(), " (expected one of its added tokens or vocabulary entries)");
    };
    // With a config, transformers takes bos/eos from it alone (a BERT config names none).
    parts.bos_id = resolve(config.bos_token, "bos_token");
    parts.eos_id = resolve(config.eos_token, "eos_token");
    if (config.pad_token) parts.pad_id = resolve(config.pad_token, "pad_token");
    parts.clean_up_tokenization_spaces = config.clean_up_tokenization_spaces;
  }
  return std::make_unique<Tokenizer>(std::move(parts));
}

}  // namespace lightpeft
