// tokenizer.json + tokenizer_config.json -> GGUF tokenizer metadata (tokenizer.ggml.*), as
// llama.cpp's convert_hf_to_gguf.py writes a byte-level BPE vocabulary (TextModel.get_vocab_base +
// gguf.SpecialVocab of gguf 0.19). The inverse of gguf_hf_tokenizer.cpp's byte-level branch.
#include <algorithm>
#include <map>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "gguf_pre_tokenizers.h"
#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/hf_gguf.h"

namespace lightpeft {
namespace {

using json = nlohmann::json;

// tokenizer.ggml.token_type values (gguf.TokenType).
constexpr int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;

json parse(const std::string& text, const char* origin) {
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    throw_error(origin, ": not valid JSON: ", e.what());
  }
}

bool is_type(const json& j, const char* type) { return j.is_object() && j.value("type", "") == type; }

// tokenizer.ggml.pre for the tokenizer's pre-tokenizer (llama.cpp tells tokenizers apart by it).
std::string pre_name(const json& pre) {
  const char* origin = "tokenizer.json";
  if (is_type(pre, "ByteLevel")) {
    LP_CHECK(pre.value("use_regex", true), origin, ": pre_tokenizer ByteLevel without its regex has no llama.cpp name");
    return "gpt-2";
  }
  if (is_type(pre, "Sequence") && pre.contains("pretokenizers") && pre["pretokenizers"].size() == 2) {
    const json& first = pre["pretokenizers"][0];
    const json& second = pre["pretokenizers"][1];
    if (is_type(first, "Split") && is_type(second, "ByteLevel") && !second.value("use_regex", true) &&
        first.contains("pattern") && first["pattern"].contains("Regex")) {
      const std::string name = gguf_pre_name_of_split(first["pattern"]["Regex"].get<std::string>());
      LP_CHECK(!name.empty(), origin, ": the pre-tokenizer's split regex is not one llama.cpp names in ",
               "tokenizer.ggml.pre (known: LLaMA 3, Qwen2, Tekken, GPT-4o, Qwen3.5): ", first["pattern"]["Regex"].dump());
      return name;
    }
    // SmolLM's: single digits, then GPT-2's byte-level split.
    if (is_type(first, "Digits") && first.value("individual_digits", false) && is_type(second, "ByteLevel") &&
        second.value("use_regex", true))
      return "smollm";
  }
  throw_error(origin, ": pre_tokenizer ", pre.dump(), " has no tokenizer.ggml.pre name llama.cpp knows (supported: ",
              "ByteLevel (gpt-2), a known Split regex + ByteLevel, Digits + ByteLevel (smollm))");
}

// A tokenizer_config.json token entry: a string or {"content": ...}.
std::optional<std::string> token_content(const json& config, const std::string& key) {
  if (!config.is_object() || !config.contains(key)) return std::nullopt;
  const json& e = config[key];
  if (e.is_string()) return e.get<std::string>();
  if (e.is_object() && e.contains("content") && e["content"].is_string()) return e["content"].get<std::string>();
  return std::nullopt;
}

// Token texts llama.cpp treats as control tokens even when not marked special
// (convert_hf_to_gguf.py's does_token_look_special).
bool looks_special(const std::string& t) {
  auto wrapped = [&](const std::string& open, const std::string& close) {
    return t.size() >= open.size() + close.size() && t.compare(0, open.size(), open) == 0 &&
           t.compare(t.size() - close.size(), close.size(), close) == 0;
  };
  return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || wrapped("<|", "|>") ||
         wrapped("<\uFF5C", "\uFF5C>") || wrapped("<unused", ">");
}

}  // namespace

void add_gguf_tokenizer(GgufWriter& w, const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                        const std::string& config_json, int64_t vocab_size) {
  const char* origin = "tokenizer.json";
  const json tok = parse(tokenizer_json, origin);
  const json tcfg = tokenizer_config_json.empty() ? json::object() : parse(tokenizer_config_json, "tokenizer_config.json");
  const json cfg = config_json.empty() ? json::object() : parse(config_json, "config.json");
  LP_CHECK(tok.is_object() && tok.contains("model") && tok["model"].is_object(), origin, ": no 'model' object");
  const json& model = tok["model"];
  LP_CHECK(model.value("type", "") == "BPE" && !model.value("byte_fallback", false), origin,
           ": model type '", model.value("type", ""), "'", model.value("byte_fallback", false) ? " with byte_fallback" : "",
           ": GGUF export writes byte-level BPE tokenizers (tokenizer.ggml.model gpt2) only");
  const std::string pre = pre_name(tok.value("pre_tokenizer", json()));
  if (tok.contains("normalizer") && !tok["normalizer"].is_null())
    log::warn(origin, ": the normalizer ", tok["normalizer"].dump(), " has no place in GGUF; llama.cpp does not apply it");

  // id -> token: the vocabulary and the added tokens (tokenizer.get_vocab()).
  std::map<int64_t, std::string> by_id;
  LP_CHECK(model.contains("vocab") && model["vocab"].is_object(), origin, ": model.vocab is not an object");
  for (auto it = model["vocab"].begin(); it != model["vocab"].end(); ++it) {
    LP_CHECK(it.value().is_number_integer() && it.value().get<int64_t>() >= 0, origin, ": model.vocab['", it.key(),
             "'] is not a token id");
    by_id[it.value().get<int64_t>()] = it.key();
  }
  struct Added {
    std::string content;
    bool special;
  };
  std::map<int64_t, Added> added;
  std::unordered_map<std::string, int64_t> added_ids;  // first id of each content
  const json added_tokens = tok.value("added_tokens", json::array());
  for (const auto& a : added_tokens) {
    LP_CHECK(a.is_object() && a.contains("id") && a["id"].is_number_integer() && a.contains("content") &&
                 a["content"].is_string(),
             origin, ": added_tokens holds an entry without an integer id and a content: ", a.dump());
    const int64_t id = a["id"].get<int64_t>();
    const std::string content = a["content"].get<std::string>();
    added[id] = {content, a.value("special", false)};
    added_ids.emplace(content, id);
    by_id[id] = content;
  }
  LP_CHECK(by_id.empty() || by_id.rbegin()->first < vocab_size, origin, ": token id ", by_id.rbegin()->first,
           " is outside the model's vocabulary of ", vocab_size, " rows");

  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  tokens.reserve(static_cast<size_t>(vocab_size));
  types.reserve(static_cast<size_t>(vocab_size));
  for (int64_t i = 0; i < vocab_size; ++i) {
    auto it = by_id.find(i);
    if (it == by_id.end()) {  // embedding rows the tokenizer never produces
      tokens.push_back("[PAD" + std::to_string(i) + "]");
      types.push_back(kUnused);
      continue;
    }
    tokens.push_back(it->second);
    auto a = added.find(i);
    if (a == added.end() || a->second.content != it->second) {
      types.push_back(kNormal);
    } else if (a->second.special || looks_special(it->second)) {
      types.push_back(kControl);
    } else {
      // The converter pre-normalizes user-defined spaces (SentencePiece's U+2581).
      std::string& t = tokens.back();
      for (size_t p = t.find("\u2581"); p != std::string::npos; p = t.find("\u2581", p + 1)) t.replace(p, 3, " ");
      types.push_back(kUserDefined);
    }
  }

  std::vector<std::string> merges;
  for (const auto& m : model.value("merges", json::array())) {
    if (m.is_string()) {
      merges.push_back(m.get<std::string>());
    } else {
      LP_CHECK(m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string(), origin,
               ": model.merges holds an entry that is neither \"a b\" nor [a, b]: ", m.dump());
      // Pairs may hold spaces; GGUF's "a b" strings spell them U+0120, as gguf.SpecialVocab does.
      std::string s;
      for (size_t k = 0; k < 2; ++k) {
        if (k) s += ' ';
        for (char c : m[k].get<std::string>()) s += c == ' ' ? std::string("\u0120") : std::string(1, c);
      }
      merges.push_back(std::move(s));
    }
  }
  LP_CHECK(!merges.empty(), origin, ": model.merges is empty (llama.cpp refuses a BPE vocabulary without merges)");

  w.add_string("tokenizer.ggml.model", "gpt2");
  w.add_string("tokenizer.ggml.pre", pre);
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_int32_array("tokenizer.ggml.token_type", types);
  w.add_string_array("tokenizer.ggml.merges", merges);

  // gguf.SpecialVocab: the TemplateProcessing post-processor says whether BOS/EOS are added; then
  // tokenizer_config.json's add_*_token and *_token (looked up among the added tokens); then the
  // config's *_token_id for what is still unset.
  std::map<std::string, bool> add_special;
  std::optional<std::string> bos = token_content(tcfg, "bos_token"), eos = token_content(tcfg, "eos_token");
  if (!bos) bos = token_content(tcfg, "cls_token");
  if (!eos) eos = token_content(tcfg, "sep_token");
  if (tok.contains("post_processor") && tok["post_processor"].is_object()) {
    const json& pp = tok["post_processor"];
    const json processors = pp.contains("processors") ? pp["processors"] : json::array({pp});
    for (const auto& p : processors) {
      if (!is_type(p, "TemplateProcessing")) continue;
      const json single = p.value("single", json::array());
      if (single.size() <= 1) continue;
      auto special_id = [](const json& e) -> std::optional<std::string> {
        if (e.contains("SpecialToken") && e["SpecialToken"].contains("id")) return e["SpecialToken"]["id"].get<std::string>();
        return std::nullopt;
      };
      if (auto first = special_id(single.front())) {
        if (!bos) bos = first;
        add_special["bos"] = *first == bos || *first == token_content(tcfg, "cls_token");
      }
      if (auto last = special_id(single.back())) {
        if (!eos) eos = last;
        add_special["eos"] = *last == eos;
      }
    }
  }
  std::map<std::string, int64_t> ids;
  const std::pair<const char*, const char*> kinds[] = {{"bos", "bos_token_id"},     {"eos", "eos_token_id"},
                                                       {"unk", "unknown_token_id"}, {"sep", "seperator_token_id"},
                                                       {"pad", "padding_token_id"}, {"mask", "mask_token_id"}};
  for (const auto& [kind, key] : kinds) {
    const std::string k = kind;
    const std::string add_key = "add_" + k + "_token";
    if (tcfg.contains(add_key) && tcfg[add_key].is_boolean()) add_special[k] = tcfg[add_key].get<bool>();
    std::optional<std::string> content = k == "bos" ? bos : k == "eos" ? eos : token_content(tcfg, k + "_token");
    if (content) {
      auto it = added_ids.find(*content);
      if (it != added_ids.end() && it->second < vocab_size) ids.emplace(k, it->second);
    }
  }
  for (const auto& [kind, key] : kinds) {
    const std::string field = std::string(kind) + "_token_id";
    if (!ids.count(kind) && cfg.is_object() && cfg.contains(field) && cfg[field].is_number_integer()) {
      const int64_t id = cfg[field].get<int64_t>();
      if (id >= 0 && id < vocab_size) ids.emplace(kind, id);
    }
  }
  for (const auto& [kind, key] : kinds)
    if (ids.count(kind)) w.add_uint32(std::string("tokenizer.ggml.") + key, static_cast<uint32_t>(ids.at(kind)));
  for (const char* kind : {"bos", "eos", "sep"})
    if (add_special.count(kind)) w.add_bool(std::string("tokenizer.ggml.add_") + kind + "_token", add_special.at(kind));

  if (tcfg.contains("chat_template")) {
    const json& t = tcfg["chat_template"];
    if (t.is_string()) {
      w.add_string("tokenizer.chat_template", t.get<std::string>());
    } else if (t.is_array()) {  // named templates: "default" and the others by name
      std::vector<std::string> names;
      for (const auto& e : t) {
        if (!e.is_object() || !e.contains("name") || !e.contains("template")) continue;
        const std::string name = e["name"].get<std::string>();
        if (name == "default") {
          w.add_string("tokenizer.chat_template", e["template"].get<std::string>());
        } else {
          w.add_string("tokenizer.chat_template." + name, e["template"].get<std::string>());
          names.push_back(name);
        }
      }
      if (!names.empty()) w.add_string_array("tokenizer.chat_templates", names);
    }
  }
}

}  // namespace lightpeft
