// GGUF tokenizer metadata -> HF tokenizer.json and tokenizer_config.json, as transformers 5.24 builds
// them (integrations/gguf/gguf_tokenizer_mapping.py + the tokenizer classes it hands the vocabulary
// to + TokenizersBackend's handling of special tokens). The aim is the same tokenizer, so the steps
// below replay transformers' in its order, including its quirks (noted where they show).
#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/io/gguf_hf.h"
#include "gguf_pre_tokenizers.h"
#include "lightpeft/tokenizers/byte_level.h"
#include "lightpeft/tokenizers/unicode.h"

namespace lightpeft {

namespace {

using ojson = nlohmann::ordered_json;

constexpr int32_t kControl = 3, kUserDefined = 4;  // tokenizer.ggml.token_type values

// The tokenizer metadata, read and checked.
struct TokenizerMeta {
  std::string model;  // "gpt2" or "llama"
  std::string pre;
  std::vector<std::string> tokens;
  std::vector<int32_t> types;  // empty when absent
  std::vector<std::string> merges;
  bool has_merges = false;
  std::vector<double> scores;  // empty when absent
  std::optional<std::string> bos, eos, unk, pad;  // token strings
  std::optional<bool> add_bos, add_eos;
  std::optional<std::string> chat_template;
};

TokenizerMeta read_meta(const GgufFile& f) {
  TokenizerMeta m;
  const std::string model_key = "tokenizer.ggml.model";
  m.model = f.get<std::string>(model_key);
  LP_CHECK(m.model == "gpt2" || m.model == "llama", f.what(model_key), ": tokenizer '", m.model,
           "' cannot be converted to tokenizer.json (supported: gpt2 (byte-level BPE), llama (SentencePiece BPE))");
  m.pre = f.get_or<std::string>("tokenizer.ggml.pre", "");
  m.tokens = f.get<std::vector<std::string>>("tokenizer.ggml.tokens");
  LP_CHECK(!m.tokens.empty(), f.what("tokenizer.ggml.tokens"), ": the vocabulary is empty");
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    try {
      (void)unicode::decode_utf8(m.tokens[i]);
    } catch (const Error& e) {
      throw_error(f.what("tokenizer.ggml.tokens"), ": token ", i, " is not valid UTF-8 (", e.what(), ")");
    }
  }
  if (f.has("tokenizer.ggml.token_type")) {
    m.types = f.get<std::vector<int32_t>>("tokenizer.ggml.token_type");
    LP_CHECK(m.types.size() == m.tokens.size(), f.what("tokenizer.ggml.token_type"), ": ", m.types.size(),
             " token types for ", m.tokens.size(), " tokens");
  }
  if (f.has("tokenizer.ggml.merges")) {
    m.merges = f.get<std::vector<std::string>>("tokenizer.ggml.merges");
    m.has_merges = true;
  }
  if (f.has("tokenizer.ggml.scores")) {
    m.scores = f.get<std::vector<double>>("tokenizer.ggml.scores");
    LP_CHECK(m.scores.size() == m.tokens.size(), f.what("tokenizer.ggml.scores"), ": ", m.scores.size(),
             " scores for ", m.tokens.size(), " tokens");
    for (size_t i = 0; i < m.scores.size(); ++i)  // they are sorted: NaN has no place in the order
      LP_CHECK(!std::isnan(m.scores[i]), f.what("tokenizer.ggml.scores"), ": score ", i, " is NaN");
  }
  auto special = [&](const char* name) -> std::optional<std::string> {
    const std::string key = std::string("tokenizer.ggml.") + name + "_token_id";
    if (!f.has(key)) return std::nullopt;
    const int64_t id = f.get<int64_t>(key);
    LP_CHECK(id >= 0 && id < static_cast<int64_t>(m.tokens.size()), f.what(key), ": token id ", id,
             " is outside the vocabulary of ", m.tokens.size(), " tokens");
    return m.tokens[static_cast<size_t>(id)];
  };
  m.bos = special("bos");
  m.eos = special("eos");
  m.unk = special("unknown");
  m.pad = special("padding");
  if (f.has("tokenizer.ggml.add_bos_token")) m.add_bos = f.get<bool>("tokenizer.ggml.add_bos_token");
  if (f.has("tokenizer.ggml.add_eos_token")) m.add_eos = f.get<bool>("tokenizer.ggml.add_eos_token");
  if (f.has("tokenizer.chat_template")) m.chat_template = f.get<std::string>("tokenizer.chat_template");
  return m;
}

// GPT-2's byte alphabet: the 256 characters bytes_to_unicode maps bytes to.
const std::set<char32_t>& byte_alphabet() {
  static const std::set<char32_t> alphabet = [] {
    std::set<char32_t> s;
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      s.insert(unicode::decode_utf8(byte_level::bytes_to_unicode(std::string_view(&c, 1)))[0]);
    }
    return s;
  }();
  return alphabet;
}

bool in_byte_alphabet(const std::string& token) {
  const auto& alphabet = byte_alphabet();
  for (char32_t cp : unicode::decode_utf8(token))
    if (!alphabet.count(cp)) return false;
  return true;
}

// The model's vocabulary: {token: id} built from the token list in order, so a token listed twice
// keeps its last id (a Python dict comprehension); serialized in id order.
struct Vocab {
  std::unordered_map<std::string, int64_t> ids;
  std::vector<std::pair<int64_t, std::string>> by_id() const {
    std::vector<std::pair<int64_t, std::string>> v;
    v.reserve(ids.size());
    for (const auto& [t, id] : ids) v.emplace_back(id, t);
    std::sort(v.begin(), v.end());
    return v;
  }
};

// transformers' generate_merges(vocab, vocab_scores): every split of every token into two
// vocabulary pieces, ordered best score first, then longer left piece, then longer right piece (a
// stable sort, so ties keep vocabulary order, each token's splits ordered by the pieces' ids).
// Lengths are Python's len(), in code points.
std::vector<std::pair<std::string, std::string>> merges_from_scores(const TokenizerMeta& m) {
  // Views into m.tokens, which outlives this function.
  std::unordered_map<std::string_view, int64_t> vocab;
  std::unordered_set<size_t> lengths;  // byte lengths of vocabulary tokens
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    vocab[m.tokens[i]] = static_cast<int64_t>(i);
    lengths.insert(m.tokens[i].size());
  }
  // dict(zip(tokens, scores)): first position, last score.
  std::vector<std::string_view> order;
  std::unordered_map<std::string_view, double> score;
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    if (!score.count(m.tokens[i])) order.emplace_back(m.tokens[i]);
    score[m.tokens[i]] = m.scores[i];
  }
  struct Merge {
    std::string_view left, right;
    int64_t left_id, right_id;
    double score;
    size_t left_len, right_len;
  };
  std::vector<Merge> merges, local;
  std::vector<size_t> boundaries;  // byte offset of each code point
  for (std::string_view token : order) {
    boundaries.clear();
    for (size_t i = 0; i < token.size(); ++i)
      if ((static_cast<unsigned char>(token[i]) & 0xC0) != 0x80) boundaries.push_back(i);  // valid UTF-8: checked
    local.clear();
    const size_t n_cp = boundaries.size();
    for (size_t i = 1; i < n_cp; ++i) {
      const size_t cut = boundaries[i];
      // Only pieces of a length some token has can be tokens: keeps a hostile file (one huge token)
      // from costing quadratic time in hashing.
      if (!lengths.count(cut) || !lengths.count(token.size() - cut)) continue;
      auto l = vocab.find(token.substr(0, cut)), r = vocab.find(token.substr(cut));
      if (l != vocab.end() && r != vocab.end())
        local.push_back({l->first, r->first, l->second, r->second, score[token], i, n_cp - i});
    }
    std::stable_sort(local.begin(), local.end(), [](const Merge& a, const Merge& b) {
      return std::make_pair(a.left_id, a.right_id) < std::make_pair(b.left_id, b.right_id);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(), [](const Merge& a, const Merge& b) {
    return std::make_tuple(a.score, a.left_len, a.right_len) > std::make_tuple(b.score, b.left_len, b.right_len);
  });
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(merges.size());
  for (const auto& mg : merges) out.emplace_back(std::string(mg.left), std::string(mg.right));
  return out;
}

std::vector<std::pair<std::string, std::string>> merges(const GgufFile& f, const TokenizerMeta& m,
                                                        const Vocab& vocab) {
  std::vector<std::pair<std::string, std::string>> out;
  if (m.has_merges) {
    out.reserve(m.merges.size());
    for (size_t i = 0; i < m.merges.size(); ++i) {
      const std::string& s = m.merges[i];
      const size_t space = s.find(' ');
      LP_CHECK(space != std::string::npos && s.find(' ', space + 1) == std::string::npos,
               f.what("tokenizer.ggml.merges"), ": merge ", i, " '", s, "' is not two tokens separated by one space");
      out.emplace_back(s.substr(0, space), s.substr(space + 1));
    }
  } else {
    LP_CHECK(!m.scores.empty(), f.origin(), ": the tokenizer has neither tokenizer.ggml.merges nor ",
             "tokenizer.ggml.scores to recover them from");
    out = merges_from_scores(m);
  }
  // What the tokenizers library checks when it builds the BPE model.
  for (size_t i = 0; i < out.size(); ++i) {
    for (const std::string* piece : {&out[i].first, &out[i].second}) {
      LP_CHECK(vocab.ids.count(*piece), f.what("tokenizer.ggml.merges"), ": merge ", i, " '", out[i].first, " ",
               out[i].second, "': '", *piece, "' is not in the vocabulary");
    }
    LP_CHECK(vocab.ids.count(out[i].first + out[i].second), f.what("tokenizer.ggml.merges"), ": merge ", i, " '",
             out[i].first, " ", out[i].second, "' makes '", out[i].first + out[i].second,
             "', which is not in the vocabulary");
  }
  return out;
}

// The tokenizers library's AddedVocabulary, as far as ids and flags go: a token already in the
// vocabulary (or already added) keeps its id, a new one gets the next id past both.
class AddedTokens {
 public:
  explicit AddedTokens(const Vocab& vocab) : vocab_(vocab) {}

  void add(const std::string& content, bool special) {
    if (content.empty()) return;
    auto it = by_content_.find(content);
    int64_t id;
    if (it != by_content_.end()) {
      id = it->second;
      if (tokens_.at(id).special == special) return;  // the very same token
    } else if (auto v = vocab_.ids.find(content); v != vocab_.ids.end()) {
      id = v->second;
    } else {
      const auto vocab_size = static_cast<int64_t>(vocab_.ids.size());
      id = vocab_size;
      if (!tokens_.empty()) {
        const int64_t max_added = tokens_.rbegin()->first;
        if (max_added >= vocab_size || vocab_size == 0) id = max_added + 1;
      }
    }
    by_content_[content] = id;
    tokens_[id] = {content, special};
  }

  bool contains(const std::string& content) const { return by_content_.count(content) != 0; }
  // The id `content` encodes to: an added token's, else the vocabulary's.
  std::optional<int64_t> id_of(const std::string& content) const {
    if (auto it = by_content_.find(content); it != by_content_.end()) return it->second;
    if (auto v = vocab_.ids.find(content); v != vocab_.ids.end()) return v->second;
    return std::nullopt;
  }

  ojson to_json() const {
    ojson out = ojson::array();
    for (const auto& [id, t] : tokens_) {
      out.push_back({{"id", id}, {"content", t.content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", t.special}});
    }
    return out;
  }

 private:
  struct Token {
    std::string content;
    bool special;
  };
  const Vocab& vocab_;
  std::map<int64_t, Token> tokens_;  // by id: the order tokenizer.json lists them in
  std::unordered_map<std::string, int64_t> by_content_;
};

ojson byte_level_pre_tokenizer(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

ojson post_processor(const TokenizerMeta& m, const AddedTokens& added) {
  // TokenizersBackend.update_post_processor: BOS/EOS around each sequence when asked for and named.
  const bool add_bos = m.add_bos.value_or(m.model == "llama") && m.bos.has_value();
  const bool add_eos = m.add_eos.value_or(false) && m.eos.has_value();
  auto special = [](const std::string& t, int type_id) { return ojson{{"SpecialToken", {{"id", t}, {"type_id", type_id}}}}; };
  auto sequence = [](const char* s, int type_id) { return ojson{{"Sequence", {{"id", s}, {"type_id", type_id}}}}; };
  ojson single = ojson::array(), pair = ojson::array(), tokens = ojson::object();
  for (int type_id : {0, 1}) {
    ojson& out = type_id == 0 ? single : pair;
    if (type_id == 1) out = single;
    if (add_bos) out.push_back(special(*m.bos, type_id));
    out.push_back(sequence(type_id == 0 ? "A" : "B", type_id));
    if (add_eos) out.push_back(special(*m.eos, type_id));
  }
  for (const auto& [on, token] : {std::make_pair(add_bos, m.bos), std::make_pair(add_eos, m.eos)}) {
    if (!on) continue;
    const std::optional<int64_t> id = added.id_of(*token);
    tokens[*token] = {{"id", *token}, {"ids", {id.value_or(0)}}, {"tokens", {*token}}};
  }
  return {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", tokens}};
}

// Appends a JSON object member without nlohmann::ordered_json's linear search for an existing key
// (quadratic over a 100K-token vocabulary); callers guarantee the keys are distinct.
void append_member(ojson& object, std::string key, ojson value) {
  using Base = std::vector<std::pair<const std::string, ojson>>;
  static_cast<Base&>(object.get_ref<ojson::object_t&>()).emplace_back(std::move(key), std::move(value));
}

std::string dump(const GgufFile& f, const ojson& j, int indent) {
  try {
    return j.dump(indent) + "\n";
  } catch (const nlohmann::json::exception& e) {
    throw_error(f.origin(), ": cannot write the tokenizer as JSON: ", e.what());
  }
}

}  // namespace

std::string gguf_hf_tokenizer_json(const GgufFile& f) {
  const TokenizerMeta m = read_meta(f);
  const bool byte_level = m.model == "gpt2";

  // The vocabulary. Byte-level BPE works on the byte alphabet, so a token spelled outside it (raw
  // UTF-8 text in some files) is respelled as its UTF-8 bytes' stand-ins.
  Vocab vocab;
  vocab.ids.reserve(m.tokens.size());
  for (size_t i = 0; i < m.tokens.size(); ++i) {
    const std::string& t = m.tokens[i];
    vocab.ids[byte_level && !in_byte_alphabet(t) ? byte_level::bytes_to_unicode(t) : t] = static_cast<int64_t>(i);
  }
  const auto merge_pairs = merges(f, m, vocab);

  // Added tokens, in transformers' order:
  AddedTokens added(vocab);
  // 1. the tokenizer class's default special tokens (GPT2Tokenizer: <|endoftext|> for bos, eos and
  //    unk; LlamaTokenizer: <s>, </s>, <unk>) -- added even when the file's vocabulary lacks them,
  //    which then gives them new ids past the vocabulary;
  if (byte_level) {
    added.add("<|endoftext|>", true);
  } else {
    for (const char* t : {"<s>", "</s>", "<unk>"}) added.add(t, true);
  }
  // 2. control tokens as special tokens (byte-level: only those spelled in the byte alphabet; the
  //    others are llama.cpp mislabels);
  const std::vector<int32_t>& types = m.types;
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i] == kControl && (!byte_level || in_byte_alphabet(m.tokens[i]))) added.add(m.tokens[i], true);
  // 3. user-defined tokens that the vocabulary spells as they are, as plain added tokens;
  for (size_t i = 0; i < types.size(); ++i)
    if (types[i] == kUserDefined && (vocab.ids.count(m.tokens[i]) || added.contains(m.tokens[i])))
      added.add(m.tokens[i], false);
  // 4. the file's bos/eos/unk/pad tokens, when not added yet.
  for (const auto* t : {&m.bos, &m.eos, &m.unk, &m.pad})
    if (t->has_value() && !added.contains(**t)) added.add(**t, true);

  ojson model = ojson::object();
  model["type"] = "BPE";
  model["dropout"] = nullptr;
  model["unk_token"] = nullptr;
  model["continuing_subword_prefix"] = byte_level ? ojson("") : ojson(nullptr);
  model["end_of_word_suffix"] = byte_level ? ojson("") : ojson(nullptr);
  model["fuse_unk"] = !byte_level;
  model["byte_fallback"] = !byte_level;
  model["ignore_merges"] = false;
  ojson vocab_json = ojson::object();
  for (auto& [id, token] : vocab.by_id()) append_member(vocab_json, std::move(token), id);
  model["vocab"] = std::move(vocab_json);
  ojson merges_json = ojson::array();
  for (const auto& [a, b] : merge_pairs) merges_json.push_back({a, b});
  model["merges"] = std::move(merges_json);

  ojson pre_tokenizer, decoder;
  if (byte_level) {
    pre_tokenizer = byte_level_pre_tokenizer(true);
    decoder = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  } else {
    // LlamaTokenizer (legacy=False, add_prefix_space=True: transformers does not pass the file's
    // tokenizer.ggml.add_space_prefix on).
    pre_tokenizer = {{"type", "Metaspace"}, {"replacement", "\u2581"}, {"prepend_scheme", "first"}, {"split", false}};
    decoder = {{"type", "Sequence"},
               {"decoders",
                {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
                 {{"type", "ByteFallback"}},
                 {{"type", "Fuse"}},
                 {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  }
  if (const char* split = gguf_pre_split(m.pre)) {
    pre_tokenizer = {{"type", "Sequence"},
                     {"pretokenizers",
                      {{{"type", "Split"}, {"pattern", {{"Regex", split}}}, {"behavior", "Isolated"}, {"invert", false}},
                       byte_level_pre_tokenizer(false)}}};
  }

  ojson j = ojson::object();
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = added.to_json();
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = std::move(pre_tokenizer);
  j["post_processor"] = post_processor(m, added);
  j["decoder"] = std::move(decoder);
  j["model"] = std::move(model);
  return dump(f, j, -1);
}

std::string gguf_hf_tokenizer_config_json(const GgufFile& f) {
  const TokenizerMeta m = read_meta(f);
  ojson c = ojson::object();
  // transformers: llama.cpp adds BOS to a SentencePiece vocabulary that does not say otherwise.
  c["add_bos_token"] = m.add_bos.value_or(m.model == "llama");
  c["add_eos_token"] = m.add_eos.value_or(false);
  if (m.bos) c["bos_token"] = *m.bos;
  if (m.eos) c["eos_token"] = *m.eos;
  if (m.unk) c["unk_token"] = *m.unk;
  if (m.pad) c["pad_token"] = *m.pad;
  if (m.chat_template) c["chat_template"] = *m.chat_template;
  c["clean_up_tokenization_spaces"] = false;
  const std::string arch = f.get_or<std::string>("general.architecture", "");
  if (!arch.empty() && f.has(arch + ".context_length"))
    c["model_max_length"] = f.get<int64_t>(arch + ".context_length");
  c["tokenizer_class"] = "PreTrainedTokenizerFast";
  return dump(f, c, 2);
}

}  // namespace lightpeft
