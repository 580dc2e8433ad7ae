// GGUF (llama) -> HF config.json and state dict, and the folder writer. The tokenizer files are
// built in gguf_hf_tokenizer.cpp.
#include "lightpeft/io/gguf_hf.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"
#include "lightpeft/io/atomic_file.h"
#include "lightpeft/io/safetensors.h"

namespace lightpeft {

namespace {

using ojson = nlohmann::ordered_json;

// Hyper-parameters of a llama GGUF, read and checked once.
struct LlamaHparams {
  // heads, kv_heads, ffn: the widest layer's; per layer below (they differ in a pruned model's file).
  int64_t vocab = 0, hidden = 0, ffn = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0;
  std::vector<int64_t> layer_heads, layer_kv_heads, layer_ffn;
  int64_t context = 2048;   // LlamaConfig's default when the file says nothing
  double eps = 1e-6;        // idem
  double theta = 10000.0;   // idem
  bool tied = true, attention_bias = false, mlp_bias = false;
  ojson rope_scaling;       // null, or {"rope_type", "factor", ...}
};

// Upper bound for sizes read from metadata: far above any real model, low enough that products of
// two of them cannot overflow int64.
constexpr int64_t kMaxDim = int64_t{1} << 24;

int64_t positive(const GgufFile& f, const std::string& key, int64_t max = kMaxDim) {
  const int64_t v = f.get<int64_t>(key);
  LP_CHECK(v > 0 && v <= max, f.what(key), ": expected a positive integer up to ", max, ", got ", v);
  return v;
}

// A per-layer count: one number for every layer, or an array of one per layer (llama.cpp's
// get_key_or_arr; a pruned model's file has arrays where its layers differ).
std::vector<int64_t> per_layer(const GgufFile& f, const std::string& key, int64_t layers, int64_t max) {
  const GgufValue& v = f.value(key);
  if (v.type() != GgufType::Array) return std::vector<int64_t>(static_cast<size_t>(layers), positive(f, key, max));
  const auto values = v.as<std::vector<int64_t>>(f.what(key));
  LP_CHECK(static_cast<int64_t>(values.size()) == layers, f.what(key), ": expected one value per layer (",
           layers, "), got ", values.size());
  for (size_t l = 0; l < values.size(); ++l)
    LP_CHECK(values[l] > 0 && values[l] <= max, f.what(key), ": layer ", l, ": expected a positive integer up to ",
             max, ", got ", values[l]);
  return values;
}

std::string architecture(const GgufFile& f) {
  const std::string arch = f.get<std::string>("general.architecture");
  const auto& supported = gguf_hf_architectures();
  if (std::find(supported.begin(), supported.end(), arch) == supported.end()) {
    std::string list;
    for (const auto& a : supported) list += (list.empty() ? "" : ", ") + a;
    throw_error(f.what("general.architecture"), ": architecture '", arch,
                "' cannot be converted to an HF model folder (supported: ", list, ")");
  }
  return arch;
}

bool has_tensor_suffix(const GgufFile& f, const std::vector<std::string>& parts) {
  for (const auto& t : f.tensors()) {
    if (t.name.rfind("blk.", 0) != 0) continue;
    for (const auto& p : parts)
      if (t.name.size() > p.size() && t.name.compare(t.name.size() - p.size(), p.size(), p) == 0) return true;
  }
  return false;
}

ojson read_rope_scaling(const GgufFile& f, const std::string& a) {
  const std::string type_key = a + ".rope.scaling.type";
  std::string type = f.get_or<std::string>(type_key, "");
  double factor = 0.0;
  if (type.empty()) {
    // Files from before rope.scaling.type stated a linear factor alone.
    const double linear = f.get_or<double>(a + ".rope.scale_linear", 1.0);
    if (linear == 1.0) return nullptr;
    type = "linear";
    factor = linear;
  } else if (type == "none") {
    return nullptr;
  } else {
    LP_CHECK(type == "linear" || type == "yarn", f.what(type_key), ": RoPE scaling '", type,
             "' is not supported (supported: none, linear, yarn)");
    factor = f.get<double>(a + ".rope.scaling.factor");
  }
  LP_CHECK(factor > 0.0 && std::isfinite(factor), f.what(a + ".rope.scaling.factor"),
           ": expected a positive factor, got ", factor);
  ojson s = ojson::object();
  s["rope_type"] = type;
  s["factor"] = factor;
  if (type == "yarn") {
    s["original_max_position_embeddings"] = positive(f, a + ".rope.scaling.original_context_length", int64_t{1} << 40);
    if (f.has(a + ".rope.scaling.attn_factor")) s["attention_factor"] = f.get<double>(a + ".rope.scaling.attn_factor");
  }
  return s;
}

LlamaHparams read_llama(const GgufFile& f) {
  const std::string a = architecture(f);
  LlamaHparams hp;
  hp.hidden = positive(f, a + ".embedding_length");
  hp.layers = positive(f, a + ".block_count", 4096);
  hp.layer_ffn = per_layer(f, a + ".feed_forward_length", hp.layers, kMaxDim);
  hp.layer_heads = per_layer(f, a + ".attention.head_count", hp.layers, 65536);
  // llama.cpp takes an absent KV head count as head_count (no grouped-query attention).
  hp.layer_kv_heads = f.has(a + ".attention.head_count_kv")
                          ? per_layer(f, a + ".attention.head_count_kv", hp.layers, 65536)
                          : hp.layer_heads;
  // One group size for all layers (a pruned model keeps whole groups): the config has one.
  for (size_t l = 0; l < hp.layer_heads.size(); ++l)
    LP_CHECK(hp.layer_heads[l] % hp.layer_kv_heads[l] == 0, f.what(a + ".attention.head_count_kv"),
             hp.layers > 1 ? ": layer " + std::to_string(l) : std::string(), ": ", hp.layer_kv_heads[l],
             " KV heads do not divide ", hp.layer_heads[l], " attention heads");
  const int64_t n_rep = hp.layer_heads[0] / hp.layer_kv_heads[0];
  for (size_t l = 0; l < hp.layer_heads.size(); ++l)
    LP_CHECK(hp.layer_heads[l] / hp.layer_kv_heads[l] == n_rep, f.what(a + ".attention.head_count_kv"), ": layer ",
             l, " has ", hp.layer_heads[l] / hp.layer_kv_heads[l], " query heads per KV head, layer 0 ", n_rep,
             " (the HF config has one group size)");
  hp.ffn = *std::max_element(hp.layer_ffn.begin(), hp.layer_ffn.end());
  hp.kv_heads = *std::max_element(hp.layer_kv_heads.begin(), hp.layer_kv_heads.end());
  hp.heads = hp.kv_heads * n_rep;
  // transformers reads the head size from the RoPE width, as llama.cpp writes it for llama.
  if (f.has(a + ".rope.dimension_count")) {
    hp.head_dim = positive(f, a + ".rope.dimension_count", 65536);
  } else {
    LP_CHECK(hp.hidden % hp.heads == 0, f.what(a + ".attention.head_count"), ": ", hp.heads,
             " heads do not divide embedding_length ", hp.hidden, " (and no rope.dimension_count says the head size)");
    hp.head_dim = hp.hidden / hp.heads;
  }
  if (f.has(a + ".context_length")) hp.context = positive(f, a + ".context_length", int64_t{1} << 40);
  if (f.has(a + ".attention.layer_norm_rms_epsilon")) {
    hp.eps = f.get<double>(a + ".attention.layer_norm_rms_epsilon");
    LP_CHECK(hp.eps > 0.0 && std::isfinite(hp.eps), f.what(a + ".attention.layer_norm_rms_epsilon"),
             ": expected a positive number, got ", hp.eps);
  }
  if (f.has(a + ".rope.freq_base")) {
    hp.theta = f.get<double>(a + ".rope.freq_base");
    LP_CHECK(hp.theta > 0.0 && std::isfinite(hp.theta), f.what(a + ".rope.freq_base"),
             ": expected a positive number, got ", hp.theta);
  }
  hp.rope_scaling = read_rope_scaling(f, a);

  // Vocabulary size: stated, else the tokenizer's, else the embedding's rows.
  if (f.has(a + ".vocab_size")) {
    hp.vocab = positive(f, a + ".vocab_size", int64_t{1} << 31);
  } else if (const GgufValue* tokens = f.find("tokenizer.ggml.tokens")) {
    LP_CHECK(tokens->type() == GgufType::Array && tokens->size() > 0, f.what("tokenizer.ggml.tokens"),
             ": expected a non-empty array of strings, got ", tokens->describe());
    hp.vocab = static_cast<int64_t>(tokens->size());
  } else {
    const GgufTensorInfo* embd = f.find_tensor("token_embd.weight");
    LP_CHECK(embd, f.origin(), ": cannot tell the vocabulary size: no ", a, ".vocab_size, no tokenizer.ggml.tokens ",
             "and no tensor 'token_embd.weight'");
    LP_CHECK(embd->dims.size() == 2, f.origin(), ": tensor 'token_embd.weight' must be 2-D");
    hp.vocab = embd->dims[1];
  }
  hp.tied = f.find_tensor("output.weight") == nullptr;
  hp.attention_bias = has_tensor_suffix(f, {".attn_q.bias", ".attn_k.bias", ".attn_v.bias", ".attn_output.bias"});
  hp.mlp_bias = has_tensor_suffix(f, {".ffn_gate.bias", ".ffn_up.bias", ".ffn_down.bias"});
  return hp;
}

// A token id from tokenizer.ggml.*_token_id, or nullopt when absent.
std::optional<int64_t> token_id(const GgufFile& f, const std::string& name) {
  const std::string key = "tokenizer.ggml." + name + "_token_id";
  if (!f.has(key)) return std::nullopt;
  const int64_t id = f.get<int64_t>(key);
  LP_CHECK(id >= 0, f.what(key), ": token ids are not negative, got ", id);
  return id;
}

// ---- weights -------------------------------------------------------------------------------------

struct Target {
  std::string hf_name;
  std::vector<int64_t> shape;  // PyTorch order
  int64_t permute_heads = 0;   // undo llama.cpp's Q/K row permutation with this many heads (0: none)
};

// The HF counterpart of a llama GGUF tensor; nullopt for the ones HF has no use for.
std::optional<Target> llama_target(const GgufFile& f, const std::string& name, const LlamaHparams& hp) {
  if (name == "token_embd.weight") return Target{"model.embed_tokens.weight", {hp.vocab, hp.hidden}};
  if (name == "output_norm.weight") return Target{"model.norm.weight", {hp.hidden}};
  if (name == "output.weight") return Target{"lm_head.weight", {hp.vocab, hp.hidden}};
  if (name == "rope_freqs.weight") {
    log::warn(f.origin(), ": skipping tensor 'rope_freqs.weight' (llama-3 RoPE frequency factors; the HF config ",
              "has no rope_scaling for them, so long contexts may differ from llama.cpp)");
    return std::nullopt;
  }
  // blk.<layer>.<part>.<weight|bias>
  auto fail = [&]() -> std::optional<Target> {
    throw_error(f.origin(), ": tensor '", name, "' has no counterpart in HF's LlamaForCausalLM (expected token_embd, ",
                "output_norm, output or blk.N.{attn_norm,attn_q,attn_k,attn_v,attn_output,ffn_norm,ffn_gate,ffn_up,",
                "ffn_down}.weight / .bias)");
  };
  if (name.rfind("blk.", 0) != 0) return fail();
  size_t p = 4;
  int64_t layer = 0;
  const size_t digits_begin = p;
  while (p < name.size() && std::isdigit(static_cast<unsigned char>(name[p])) && p - digits_begin < 9)
    layer = layer * 10 + (name[p++] - '0');
  if (p == digits_begin || p >= name.size() || name[p] != '.') return fail();
  LP_CHECK(layer < hp.layers, f.origin(), ": tensor '", name, "': layer ", layer, " is beyond block_count ", hp.layers);
  const std::string rest = name.substr(p + 1);
  const std::string prefix = "model.layers." + std::to_string(layer) + ".";
  const auto l = static_cast<size_t>(layer);
  const int64_t heads = hp.layer_heads[l], kv_heads = hp.layer_kv_heads[l], ffn = hp.layer_ffn[l];
  const int64_t q = heads * hp.head_dim, kv = kv_heads * hp.head_dim;
  struct Part {
    const char* gguf;
    const char* hf;
    std::vector<int64_t> weight, bias;
    int64_t permute;
  };
  const Part parts[] = {
      {"attn_norm", "input_layernorm", {hp.hidden}, {}, 0},
      {"ffn_norm", "post_attention_layernorm", {hp.hidden}, {}, 0},
      {"attn_q", "self_attn.q_proj", {q, hp.hidden}, {q}, heads},
      {"attn_k", "self_attn.k_proj", {kv, hp.hidden}, {kv}, kv_heads},
      {"attn_v", "self_attn.v_proj", {kv, hp.hidden}, {kv}, 0},
      {"attn_output", "self_attn.o_proj", {hp.hidden, q}, {hp.hidden}, 0},
      {"ffn_gate", "mlp.gate_proj", {ffn, hp.hidden}, {ffn}, 0},
      {"ffn_up", "mlp.up_proj", {ffn, hp.hidden}, {ffn}, 0},
      {"ffn_down", "mlp.down_proj", {hp.hidden, ffn}, {hp.hidden}, 0},
  };
  if (rest == "attn_rot_embd.weight") return std::nullopt;  // precomputed RoPE table of old files
  for (const Part& part : parts) {
    const std::string g = part.gguf;
    if (rest == g + ".weight") return Target{prefix + part.hf + ".weight", part.weight, part.permute};
    if (rest == g + ".bias" && !part.bias.empty()) return Target{prefix + part.hf + ".bias", part.bias, part.permute};
  }
  return fail();
}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

// llama.cpp's converter reorders each head's rows from [first half | second half] (HF's rotate_half
// layout) to interleaved pairs; this is its inverse, as transformers' LlamaTensorProcessor does:
// view the rows as (heads, head_dim / 2, 2) and swap the last two axes.
at::Tensor reverse_permute(const at::Tensor& w, int64_t heads) {
  const int64_t rows = w.size(0);
  std::vector<int64_t> split = {heads, rows / heads / 2, 2};
  for (int64_t d = 1; d < w.dim(); ++d) split.push_back(w.size(d));
  return w.reshape(split).transpose(1, 2).reshape(w.sizes()).contiguous();
}

}  // namespace

const std::vector<std::string>& gguf_hf_architectures() {
  static const std::vector<std::string> archs = {"llama"};
  return archs;
}

std::string gguf_hf_config_json(const GgufFile& f) {
  const LlamaHparams hp = read_llama(f);
  ojson c = ojson::object();
  c["architectures"] = {"LlamaForCausalLM"};
  c["model_type"] = "llama";
  c["vocab_size"] = hp.vocab;
  c["hidden_size"] = hp.hidden;
  c["intermediate_size"] = hp.ffn;
  c["num_hidden_layers"] = hp.layers;
  c["num_attention_heads"] = hp.heads;
  c["num_key_value_heads"] = hp.kv_heads;
  // Layers of different widths (a pruned model): lightpeft's per-layer keys (transformers has none).
  if (hp.layer_kv_heads != std::vector<int64_t>(hp.layer_kv_heads.size(), hp.kv_heads) ||
      hp.layer_ffn != std::vector<int64_t>(hp.layer_ffn.size(), hp.ffn)) {
    c["num_key_value_heads_per_layer"] = hp.layer_kv_heads;
    c["intermediate_size_per_layer"] = hp.layer_ffn;
  }
  c["head_dim"] = hp.head_dim;
  c["hidden_act"] = "silu";
  c["max_position_embeddings"] = hp.context;
  c["rms_norm_eps"] = hp.eps;
  // transformers 5 reads rope_parameters; older versions (and other readers) rope_theta/rope_scaling.
  c["rope_theta"] = hp.theta;
  ojson rope = hp.rope_scaling.is_null() ? ojson{{"rope_type", "default"}} : hp.rope_scaling;
  rope["rope_theta"] = hp.theta;
  c["rope_parameters"] = rope;
  if (!hp.rope_scaling.is_null()) c["rope_scaling"] = hp.rope_scaling;
  c["attention_bias"] = hp.attention_bias;
  c["attention_dropout"] = 0.0;
  c["mlp_bias"] = hp.mlp_bias;
  c["initializer_range"] = 0.02;
  c["pretraining_tp"] = 1;
  c["use_cache"] = true;
  c["tie_word_embeddings"] = hp.tied;
  // LlamaConfig's defaults where the file names no token (as transformers does).
  const auto bos = token_id(f, "bos"), eos = token_id(f, "eos"), pad = token_id(f, "padding"),
             unk = token_id(f, "unknown");
  c["bos_token_id"] = bos ? ojson(*bos) : ojson(1);
  c["eos_token_id"] = eos ? ojson(*eos) : ojson(2);
  c["pad_token_id"] = pad ? ojson(*pad) : ojson(nullptr);
  if (unk) c["unk_token_id"] = *unk;
  return c.dump(2) + "\n";
}

StateDict gguf_hf_state_dict(const GgufFile& f) {
  const LlamaHparams hp = read_llama(f);
  StateDict out;
  for (const GgufTensorInfo& t : f.tensors()) {
    std::optional<Target> target = llama_target(f, t.name, hp);
    if (!target) continue;
    LP_CHECK(t.shape() == target->shape, f.origin(), ": tensor '", t.name, "' has shape ", shape_str(t.shape()),
             " but the configuration needs ", shape_str(target->shape), " for ", target->hf_name);
    at::Tensor w = f.load_tensor(t);
    if (target->permute_heads) {
      LP_CHECK(w.size(0) % (2 * target->permute_heads) == 0, f.origin(), ": tensor '", t.name, "': ", w.size(0),
               " rows cannot be split into ", target->permute_heads, " heads of an even size");
      w = reverse_permute(w, target->permute_heads);
    }
    out.emplace(target->hf_name, std::move(w));
  }
  // Everything LlamaForCausalLM needs is there.
  std::vector<std::pair<std::string, std::string>> required = {{"model.embed_tokens.weight", "token_embd.weight"},
                                                               {"model.norm.weight", "output_norm.weight"}};
  const std::pair<const char*, const char*> layer_parts[] = {
      {"input_layernorm.weight", "attn_norm.weight"},   {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.weight", "attn_q.weight"},     {"self_attn.k_proj.weight", "attn_k.weight"},
      {"self_attn.v_proj.weight", "attn_v.weight"},     {"self_attn.o_proj.weight", "attn_output.weight"},
      {"mlp.gate_proj.weight", "ffn_gate.weight"},      {"mlp.up_proj.weight", "ffn_up.weight"},
      {"mlp.down_proj.weight", "ffn_down.weight"}};
  const std::pair<const char*, const char*> attn_bias[] = {{"self_attn.q_proj.bias", "attn_q.bias"},
                                                           {"self_attn.k_proj.bias", "attn_k.bias"},
                                                           {"self_attn.v_proj.bias", "attn_v.bias"},
                                                           {"self_attn.o_proj.bias", "attn_output.bias"}};
  const std::pair<const char*, const char*> mlp_bias[] = {{"mlp.gate_proj.bias", "ffn_gate.bias"},
                                                          {"mlp.up_proj.bias", "ffn_up.bias"},
                                                          {"mlp.down_proj.bias", "ffn_down.bias"}};
  for (int64_t i = 0; i < hp.layers; ++i) {
    const std::string hf = "model.layers." + std::to_string(i) + ".", gg = "blk." + std::to_string(i) + ".";
    for (const auto& [h, g] : layer_parts) required.emplace_back(hf + h, gg + g);
    if (hp.attention_bias)
      for (const auto& [h, g] : attn_bias) required.emplace_back(hf + h, gg + g);
    if (hp.mlp_bias)
      for (const auto& [h, g] : mlp_bias) required.emplace_back(hf + h, gg + g);
  }
  for (const auto& [hf, gg] : required) {
    LP_CHECK(out.count(hf), f.origin(), ": tensor '", gg, "' is missing (HF's LlamaForCausalLM needs it as ", hf,
             hp.attention_bias || hp.mlp_bias ? "; biases, when present, must be on every layer and projection" : "",
             ")");
  }
  return out;
}

HfFolderContents gguf_to_hf(const GgufFile& f) {
  HfFolderContents c;
  c.config_json = gguf_hf_config_json(f);
  c.tokenizer_json = gguf_hf_tokenizer_json(f);
  c.tokenizer_config_json = gguf_hf_tokenizer_config_json(f);
  c.weights = gguf_hf_state_dict(f);
  return c;
}

void write_hf_folder(const std::filesystem::path& gguf_path, const std::filesystem::path& out_dir) {
  const GgufFile f = GgufFile::open(gguf_path);
  const HfFolderContents c = gguf_to_hf(f);
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  LP_CHECK(!ec, out_dir.string(), ": cannot create the output folder: ", ec.message());
  save_safetensors(out_dir / "model.safetensors", c.weights, {{"format", "pt"}});
  write_text_atomic(out_dir / "config.json", c.config_json);
  write_text_atomic(out_dir / "tokenizer.json", c.tokenizer_json);
  write_text_atomic(out_dir / "tokenizer_config.json", c.tokenizer_config_json);
}

}  // namespace lightpeft
