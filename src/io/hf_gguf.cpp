// HF llama config.json and weights -> GGUF metadata and tensors (the tokenizer is in
// hf_gguf_tokenizer.cpp). The converter replayed: llama.cpp's convert_hf_to_gguf.py, LlamaModel.
#include "lightpeft/io/hf_gguf.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>

#include <ATen/ops/tensor.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {
namespace {

using json = nlohmann::json;
const char* const kOrigin = "config.json";

// llama.cpp's GGML_QUANT_VERSION and LlamaFileType values.
constexpr uint32_t kQuantVersion = 2;
uint32_t file_type(GgmlType t) { return t == GgmlType::F32 ? 0 : t == GgmlType::F16 ? 1 : 7; }

int64_t int_key(const json& c, const char* key, std::optional<int64_t> fallback = std::nullopt) {
  if (!c.contains(key) || c[key].is_null()) {
    LP_CHECK(fallback.has_value(), kOrigin, ": key '", key, "' is missing");
    return *fallback;
  }
  LP_CHECK(c[key].is_number_integer(), kOrigin, ": key '", key, "': expected an integer, got ", c[key].dump());
  return c[key].get<int64_t>();
}

double number_key(const json& c, const char* key, double fallback) {
  if (!c.contains(key) || c[key].is_null()) return fallback;
  LP_CHECK(c[key].is_number(), kOrigin, ": key '", key, "': expected a number, got ", c[key].dump());
  return c[key].get<double>();
}

std::vector<int64_t> per_layer(const json& c, const char* key, int64_t layers, int64_t fallback) {
  if (!c.contains(key) || c[key].is_null()) return std::vector<int64_t>(static_cast<size_t>(layers), fallback);
  LP_CHECK(c[key].is_array() && static_cast<int64_t>(c[key].size()) == layers, kOrigin, ": key '", key,
           "': expected a list of ", layers, " integers (one per layer)");
  std::vector<int64_t> v;
  for (const auto& x : c[key]) {
    LP_CHECK(x.is_number_integer() && x.get<int64_t>() > 0, kOrigin, ": key '", key,
             "': expected positive integers (a layer without units has no GGUF shape), got ", x.dump());
    v.push_back(x.get<int64_t>());
  }
  return v;
}

// What the GGUF needs from config.json, read and checked once.
struct LlamaShape {
  int64_t vocab = 0, hidden = 0, layers = 0, head_dim = 0, n_rep = 1, context = 2048;
  std::vector<int64_t> kv_heads, ffn;  // per layer
  double eps = 1e-6, theta = 10000.0;
  bool tied = false;
  std::string rope_type = "default";
  double rope_factor = 1.0, low_freq_factor = 1.0, high_freq_factor = 4.0;
  int64_t rope_original_context = 8192;

  int64_t heads(size_t l) const { return kv_heads[l] * n_rep; }
};

LlamaShape read_shape(const std::string& config_json) {
  json c;
  try {
    c = json::parse(config_json);
  } catch (const json::exception& e) {
    throw_error(kOrigin, ": not valid JSON: ", e.what());
  }
  LP_CHECK(c.is_object(), kOrigin, ": expected a JSON object");
  const std::string type = c.value("model_type", "");
  const auto& types = hf_gguf_model_types();
  LP_CHECK(std::find(types.begin(), types.end(), type) != types.end(), kOrigin, ": model_type '", type,
           "' cannot be written as GGUF (supported: llama, mistral: llama.cpp's llama architecture)");
  const std::string act = c.value("hidden_act", "silu");
  LP_CHECK(act == "silu", kOrigin, ": hidden_act '", act, "': llama.cpp's llama graph computes SwiGLU with silu");
  LlamaShape s;
  s.vocab = int_key(c, "vocab_size");
  s.hidden = int_key(c, "hidden_size");
  s.layers = int_key(c, "num_hidden_layers");
  const int64_t heads = int_key(c, "num_attention_heads");
  const int64_t kv = int_key(c, "num_key_value_heads", heads);
  LP_CHECK(s.vocab > 0 && s.hidden > 0 && s.layers > 0 && heads > 0 && kv > 0 && heads % kv == 0, kOrigin,
           ": inconsistent sizes (vocab_size, hidden_size, num_hidden_layers, num_attention_heads, "
           "num_key_value_heads must be positive, the KV heads dividing the heads)");
  s.n_rep = heads / kv;
  s.head_dim = int_key(c, "head_dim", s.hidden / heads);
  LP_CHECK(s.head_dim > 0 && s.head_dim % 2 == 0, kOrigin, ": head_dim ", s.head_dim, " must be positive and even (RoPE pairs)");
  s.kv_heads = per_layer(c, "num_key_value_heads_per_layer", s.layers, kv);
  s.ffn = per_layer(c, "intermediate_size_per_layer", s.layers, int_key(c, "intermediate_size"));
  for (int64_t k : s.kv_heads)
    LP_CHECK(k <= kv, kOrigin, ": num_key_value_heads_per_layer holds ", k, ", more than num_key_value_heads ", kv);
  s.context = int_key(c, "max_position_embeddings", 2048);
  s.eps = number_key(c, "rms_norm_eps", 1e-6);
  s.tied = c.value("tie_word_embeddings", false);
  s.theta = number_key(c, "rope_theta", 10000.0);
  // transformers 5 writes rope_parameters, older files rope_theta + rope_scaling.
  for (const char* key : {"rope_scaling", "rope_parameters"}) {
    if (!c.contains(key) || c[key].is_null()) continue;
    const json& r = c[key];
    LP_CHECK(r.is_object(), kOrigin, ": key '", key, "': expected an object");
    if (r.contains("rope_theta") && r["rope_theta"].is_number()) s.theta = r["rope_theta"].get<double>();
    s.rope_type = r.value("rope_type", r.value("type", std::string("default")));
    s.rope_factor = number_key(r, "factor", 1.0);
    s.low_freq_factor = number_key(r, "low_freq_factor", 1.0);
    s.high_freq_factor = number_key(r, "high_freq_factor", 4.0);
    s.rope_original_context = int_key(r, "original_max_position_embeddings", 8192);
  }
  LP_CHECK(s.rope_type == "default" || s.rope_type == "linear" || s.rope_type == "llama3", kOrigin,
           ": RoPE scaling '", s.rope_type, "' is not written to GGUF (supported: default, linear, llama3)");
  return s;
}

// llama.cpp's converter, LlamaModel.permute: each head's rows from HF's [first half | second half]
// (rotate_half) to interleaved pairs, viewing the rows as (heads, 2, head_dim / 2) and swapping the
// last two axes.
at::Tensor permute_rows(const at::Tensor& w, int64_t heads) {
  std::vector<int64_t> split = {heads, 2, w.size(0) / heads / 2};
  for (int64_t d = 1; d < w.dim(); ++d) split.push_back(w.size(d));
  return w.reshape(split).transpose(1, 2).reshape(w.sizes()).contiguous();
}

// convert_hf_to_gguf.py's LlamaModel.generate_extra_tensors for rope_type llama3, in float32 as its
// torch scalars compute (python numbers meeting a float32 tensor become float32).
at::Tensor llama3_rope_factors(const LlamaShape& s) {
  const float two_pi = static_cast<float>(2 * 3.14159265358979323846);
  const auto context = static_cast<float>(s.rope_original_context);
  const auto low = static_cast<float>(s.low_freq_factor);
  const auto factor = static_cast<float>(s.rope_factor);
  const auto low_wavelen = static_cast<float>(s.rope_original_context / s.low_freq_factor);
  const auto high_wavelen = static_cast<float>(s.rope_original_context / s.high_freq_factor);
  std::vector<float> factors;
  for (int64_t i = 0; i < s.head_dim; i += 2) {
    // 1 / base ** (arange(0, dim, 2) / dim)
    const float exponent = static_cast<float>(i) / static_cast<float>(s.head_dim);
    const float freq = 1.0f / std::pow(static_cast<float>(s.theta), exponent);
    const float wavelen = two_pi / freq;
    if (wavelen < high_wavelen) {
      factors.push_back(1.0f);
    } else if (wavelen > low_wavelen) {
      factors.push_back(factor);
    } else {
      const float smooth = (context / wavelen - low) / static_cast<float>(s.high_freq_factor - s.low_freq_factor);
      factors.push_back(1.0f / ((1.0f - smooth) / factor + smooth));
    }
  }
  return at::tensor(factors);
}

struct Mapped {
  std::string name;
  std::vector<int64_t> shape;
  int64_t permute_heads = 0;
};

std::optional<Mapped> map_tensor(const std::string& key, const LlamaShape& s) {
  if (key == "model.embed_tokens.weight") return Mapped{"token_embd.weight", {s.vocab, s.hidden}};
  if (key == "model.norm.weight") return Mapped{"output_norm.weight", {s.hidden}};
  if (key == "lm_head.weight") {
    if (s.tied) return std::nullopt;  // llama.cpp reads the tied head from token_embd
    return Mapped{"output.weight", {s.vocab, s.hidden}};
  }
  const std::string prefix = "model.layers.";
  auto fail = [&]() -> std::optional<Mapped> {
    throw_error("model weights: tensor '", key, "' has no counterpart in llama.cpp's llama architecture (expected ",
                "model.embed_tokens, model.norm, lm_head and model.layers.N.{input_layernorm, ",
                "post_attention_layernorm, self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj}; a model with a ",
                "classification head has no GGUF form)");
  };
  if (key.rfind(prefix, 0) != 0) return fail();
  size_t p = prefix.size();
  int64_t layer = 0;
  const size_t begin = p;
  while (p < key.size() && std::isdigit(static_cast<unsigned char>(key[p])) && p - begin < 9) layer = layer * 10 + (key[p++] - '0');
  if (p == begin || p >= key.size() || key[p] != '.' || layer >= s.layers) return fail();
  const std::string rest = key.substr(p + 1), blk = "blk." + std::to_string(layer) + ".";
  const auto l = static_cast<size_t>(layer);
  const int64_t q = s.heads(l) * s.head_dim, kv = s.kv_heads[l] * s.head_dim, ffn = s.ffn[l];
  struct Part {
    const char* hf;
    const char* gguf;
    std::vector<int64_t> weight, bias;
    int64_t permute;
  };
  const Part parts[] = {
      {"input_layernorm", "attn_norm", {s.hidden}, {}, 0},
      {"post_attention_layernorm", "ffn_norm", {s.hidden}, {}, 0},
      {"self_attn.q_proj", "attn_q", {q, s.hidden}, {q}, s.heads(l)},
      {"self_attn.k_proj", "attn_k", {kv, s.hidden}, {kv}, s.kv_heads[l]},
      {"self_attn.v_proj", "attn_v", {kv, s.hidden}, {kv}, 0},
      {"self_attn.o_proj", "attn_output", {s.hidden, q}, {s.hidden}, 0},
      {"mlp.gate_proj", "ffn_gate", {ffn, s.hidden}, {ffn}, 0},
      {"mlp.up_proj", "ffn_up", {ffn, s.hidden}, {ffn}, 0},
      {"mlp.down_proj", "ffn_down", {s.hidden, ffn}, {s.hidden}, 0},
  };
  for (const Part& part : parts) {
    const std::string h = part.hf;
    if (rest == h + ".weight") return Mapped{blk + part.gguf + ".weight", part.weight, part.permute};
    if (rest == h + ".bias" && !part.bias.empty()) return Mapped{blk + part.gguf + ".bias", part.bias, part.permute};
  }
  return fail();
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string out = "(";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + (shape.size() == 1 ? ",)" : ")");
}

// One count per layer: a scalar when the layers agree, else an INT32 array (llama.cpp's
// get_key_or_arr reads either).
void add_per_layer(GgufWriter& w, const std::string& key, const std::vector<int64_t>& values) {
  if (std::all_of(values.begin(), values.end(), [&](int64_t v) { return v == values[0]; })) {
    w.add_uint32(key, static_cast<uint32_t>(values[0]));
    return;
  }
  w.add_int32_array(key, std::vector<int32_t>(values.begin(), values.end()));
}

// convert_hf_to_gguf.py's choice: 1-D tensors and norms F32, others the asked type; a quantized
// type whose blocks do not fit the rows falls back to F16.
GgmlType tensor_type(const std::string& name, const at::Tensor& t, GgmlType asked) {
  const bool norm = name.size() >= 12 && name.compare(name.size() - 12, 12, "_norm.weight") == 0;
  if (t.dim() <= 1 || norm) return GgmlType::F32;
  if (!ggml_can_quantize_rows(asked, t.size(-1))) {
    log::warn("GGUF: tensor '", name, "' has rows of ", t.size(-1), " values, not whole ", ggml_type_name(asked),
              " blocks of ", ggml_block_size(asked), "; writing it as F16");
    return GgmlType::F16;
  }
  return asked;
}

}  // namespace

const std::vector<std::string>& hf_gguf_model_types() {
  static const std::vector<std::string> types = {"llama", "mistral"};
  return types;
}

GgufWriter hf_to_gguf(const HfFolderContents& hf, const GgufExportOptions& options) {
  LP_CHECK(ggml_can_write(options.type), "GGUF export: tensor type ", ggml_type_name(options.type),
           " is not supported (supported: F32, F16, Q8_0)");
  const LlamaShape s = read_shape(hf.config_json);
  GgufWriter w;
  const std::string a = "llama";
  w.add_string("general.architecture", a);
  w.add_string("general.type", "model");
  if (!options.name.empty()) w.add_string("general.name", options.name);
  w.add_uint32(a + ".vocab_size", static_cast<uint32_t>(s.vocab));
  w.add_uint32(a + ".block_count", static_cast<uint32_t>(s.layers));
  w.add_uint32(a + ".context_length", static_cast<uint32_t>(s.context));
  w.add_uint32(a + ".embedding_length", static_cast<uint32_t>(s.hidden));
  add_per_layer(w, a + ".feed_forward_length", s.ffn);
  std::vector<int64_t> heads;
  for (size_t l = 0; l < s.kv_heads.size(); ++l) heads.push_back(s.heads(l));
  add_per_layer(w, a + ".attention.head_count", heads);
  add_per_layer(w, a + ".attention.head_count_kv", s.kv_heads);
  w.add_float32(a + ".rope.freq_base", static_cast<float>(s.theta));
  w.add_float32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(s.eps));
  // The head size stated, not derived: llama.cpp's default (embedding_length / head_count of layer
  // 0) is wrong for a pruned layer 0 and for models with an explicit head_dim.
  w.add_uint32(a + ".attention.key_length", static_cast<uint32_t>(s.head_dim));
  w.add_uint32(a + ".attention.value_length", static_cast<uint32_t>(s.head_dim));
  w.add_uint32(a + ".rope.dimension_count", static_cast<uint32_t>(s.head_dim));
  if (s.rope_type == "linear") {
    w.add_string(a + ".rope.scaling.type", "linear");
    w.add_float32(a + ".rope.scaling.factor", static_cast<float>(s.rope_factor));
  }
  w.add_uint32("general.file_type", file_type(options.type));
  w.add_uint32("general.quantization_version", kQuantVersion);
  add_gguf_tokenizer(w, hf.tokenizer_json, hf.tokenizer_config_json, hf.config_json, s.vocab);

  std::vector<std::pair<std::string, at::Tensor>> named;
  std::set<std::string> seen;
  for (const auto& [key, tensor] : hf.weights) {
    std::optional<Mapped> m = map_tensor(key, s);
    if (!m) continue;
    LP_CHECK(tensor.sizes().vec() == m->shape, "model weights: tensor '", key, "' has shape ",
             shape_str(tensor.sizes().vec()), " but the config needs ", shape_str(m->shape), " (", m->name, ")");
    at::Tensor t = tensor.detach();
    if (m->permute_heads > 0) t = permute_rows(t.to(at::kFloat), m->permute_heads);
    named.emplace_back(m->name, t);
    seen.insert(m->name);
  }
  if (s.rope_type == "llama3") {
    named.emplace_back("rope_freqs.weight", llama3_rope_factors(s));
    seen.insert("rope_freqs.weight");
  }
  std::vector<std::string> required = {"token_embd.weight", "output_norm.weight"};
  if (!s.tied) required.push_back("output.weight");
  for (int64_t l = 0; l < s.layers; ++l)
    for (const char* part : {"attn_norm", "ffn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate",
                             "ffn_up", "ffn_down"})
      required.push_back("blk." + std::to_string(l) + "." + part + ".weight");
  for (const auto& name : required)
    LP_CHECK(seen.count(name), "model weights: llama.cpp's tensor '", name, "' has no HF weight to come from",
             name == "output.weight" ? " (lm_head.weight; or set tie_word_embeddings)" : "");
  // Tensors in llama.cpp's order: embeddings (and RoPE factors), the layers, the final norm and head.
  auto rank = [](const std::string& name) -> int64_t {
    if (name.rfind("token_embd.", 0) == 0) return -2;
    if (name.rfind("rope_freqs.", 0) == 0) return -1;
    if (name.rfind("blk.", 0) == 0) return std::stoll(name.substr(4));
    return int64_t{1} << 40;
  };
  std::stable_sort(named.begin(), named.end(),
                   [&](const auto& x, const auto& y) { return rank(x.first) < rank(y.first); });
  for (const auto& [name, t] : named) w.add_tensor(name, t, tensor_type(name, t, options.type));
  return w;
}

void write_gguf(const HfFolderContents& hf, const std::filesystem::path& file, const GgufExportOptions& options) {
  hf_to_gguf(hf, options).write(file);
}

}  // namespace lightpeft
