// `lightpeft export` in every format, on Light-PEFT runs that pruned attention units and MLP
// neurons (docs/export.md):
//   hf       stock HF transformers loads the merged export of a pruned tiny BERT and a tiny LLaMA
//            with grouped-query attention (tests/train/check_hf_export.py, in the venv) and gives
//            lightpeft's logits within 1e-5; HF PEFT loads the unmerged adapter on the padded base
//            with the same logits; lightpeft loads both too.
//   compact  lightpeft loads the pruned shapes, same logits.
//   hf       (causal LM) HF's LlamaForCausalLM and PEFT on the hf exports of a pruned tiny LLaMA
//            causal LM (a KV group pruned in layer 0), lightpeft's logits within 1e-5.
//   gguf     a pruned tiny LLaMA causal LM round-trips: our reader gives the same config, the same
//            state dict and a model with the same logits; the gguf package reads equal tensors
//            (F32/F16 the same values, Q8_0 equal to gguf.quants.quantize) and the tokenizer
//            (tests/train/check_gguf_export.py).
// and the refusals: gguf of another family or of a classifier, merging bottleneck adapters, a run
// that has not finished.
#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <ATen/ops/allclose.h>
#include <ATen/ops/equal.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/zeros.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/io/gguf.h"
#include "lightpeft/io/gguf_hf.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/adapter_io.h"
#include "lightpeft/pruning/apply_plan.h"
#include "lightpeft/tokenizers/byte_level.h"
#include "lightpeft/tokenizers/tokenizer.h"
#include "lightpeft/train/export.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::contains;

// Runs a check script of tests/train in the venv; its output goes to the test log.
int run_python(const std::string& script, const std::string& args) {
  const std::string cmd = "\"" + testing::python_path() + "\" \"" +
                          (testing::source_dir() / "tests/train" / script).string() + "\" " + args + " 2>&1";
  return std::system(cmd.c_str());
}

std::string quoted(const fs::path& p) { return "\"" + p.string() + "\""; }

// Empty when the venv python runs the check scripts (transformers, peft, gguf), else why not: the
// HF/PEFT/gguf checks skip with that message (tools/setup.sh makes the venv).
std::string why_no_venv() {
  const std::string python = testing::python_path();
  if (python.empty()) return "no venv python known (set LIGHTPEFT_PYTHON; tools/setup.sh makes the venv)";
  if (!fs::exists(python)) return "the venv python " + python + " does not exist (tools/setup.sh makes it)";
  const std::string cmd = "\"" + python + "\" -c 'import transformers, peft, gguf, safetensors' >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) return python + " lacks transformers, peft or gguf (tools/requirements.txt)";
  return "";
}

// Rows of the tiny task's vocabulary (ids 5.. are words; 0 is [PAD]), the end of row 1 padded.
ModelInputs task_inputs(bool bert) {
  torch::manual_seed(17);
  ModelInputs in;
  in.input_ids = at::randint(5, 21, {3, 8}, at::kLong);
  in.attention_mask = at::ones({3, 8}, at::kLong);
  in.attention_mask.index_put_({1, torch::indexing::Slice(5, 8)}, 0);
  in.input_ids.index_put_({1, torch::indexing::Slice(5, 8)}, 0);
  if (bert) in.token_type_ids = at::zeros({3, 8}, at::kLong);
  return in;
}

void save_expected(const fs::path& file, const ModelInputs& in, const at::Tensor& logits) {
  StateDict t = {{"input_ids", in.input_ids}, {"attention_mask", in.attention_mask}, {"logits", logits.contiguous()}};
  if (in.token_type_ids.defined()) t["token_type_ids"] = in.token_type_ids;
  save_safetensors(file, t);
}

at::Tensor logits_of(TaskModel model, const ModelInputs& in) {
  torch::NoGradGuard no_grad;
  model->eval();
  return model->forward(in).logits;
}

void expect_close(const at::Tensor& a, const at::Tensor& b, const std::string& what, double tol = 1e-5) {
  ASSERT_EQ(a.sizes(), b.sizes()) << what;
  EXPECT_TRUE(at::allclose(a, b, tol, tol)) << what << ": max |diff| " << (a - b).abs().max().item<float>();
}

class ExportRun : public ::testing::TestWithParam<std::string> {};

// A light-peft run on the tiny model of `type`, exported merged (hf by default, and compact) and
// unmerged (hf): every export loads where it should, with lightpeft's logits.
TEST_P(ExportRun, HfCompactAndAdapterExportsLoadWithLightpeftsLogits) {
  const std::string type = GetParam();
  const bool bert = type == "bert";
  testing::TempDir root;
  testing::make_tiny_model(root / "model", type);
  testing::write_tiny_task(root / "train.csv", 40, 0);
  testing::write_tiny_task(root / "dev.csv", 16, 1);
  testing::write_tiny_task(root / "test.csv", 12, 0, /*labelled=*/false);
  const fs::path run = root / "run";
  testing::write_file(root / "cfg.yaml", testing::tiny_config_yaml(root.path(), "light-peft", run));
  auto train = testing::run_cli("train --config " + (root / "cfg.yaml").string() +
                                " --set lora.target_modules=all-linear --set light_peft.head_pruning_ratio=0.5");
  ASSERT_EQ(train.code, 0) << train.output;
  const PruningPlan plan = load_pruning_plan(run / "prune" / kPruningPlanFile);
  ASSERT_LT(plan.heads_after(), plan.heads_before());
  ASSERT_LT(plan.neurons_after(), plan.neurons_before());

  const ModelInputs in = task_inputs(bert);
  const at::Tensor expected = logits_of(load_finetuned_run(run).model, in);
  save_expected(root / "expected.safetensors", in, expected);
  PretrainedOptions strict;
  strict.strict = true;

  // hf (the default), merged: HF's shapes, the logits of the pruned run.
  auto hf = testing::run_cli("export --run " + run.string() + " --merge --out " + (root / "hf").string());
  ASSERT_EQ(hf.code, 0) << hf.output;
  const json hf_config = json::parse(testing::read_file(root / "hf" / "config.json"));
  EXPECT_FALSE(hf_config.contains("intermediate_size_per_layer")) << hf_config.dump();
  EXPECT_FALSE(hf_config.contains(bert ? "num_attention_heads_per_layer" : "num_key_value_heads_per_layer"));
  auto hf_model = load_pretrained(root / "hf", strict).model;
  EXPECT_FALSE(hf_model->config().is_pruned());
  expect_close(logits_of(hf_model, in), expected, "lightpeft on the hf export");

  // compact, merged: the pruned shapes.
  auto compact = testing::run_cli("export --run " + run.string() + " --merge --format compact --out " +
                                  (root / "compact").string());
  ASSERT_EQ(compact.code, 0) << compact.output;
  auto compact_model = load_pretrained(root / "compact", strict).model;
  EXPECT_TRUE(compact_model->config().is_pruned());
  EXPECT_LT(count_parameters(*compact_model), count_parameters(*hf_model));
  expect_close(logits_of(compact_model, in), expected, "lightpeft on the compact export");

  // hf, unmerged: the padded base with the padded adapter in adapter/.
  auto unmerged = testing::run_cli("export --run " + run.string() + " --out " + (root / "base").string());
  ASSERT_EQ(unmerged.code, 0) << unmerged.output;
  const json adapter_config = json::parse(testing::read_file(root / "base" / "adapter" / kAdapterConfigFile));
  EXPECT_EQ(adapter_config.at("base_model_name_or_path"), fs::absolute(root / "base").lexically_normal().string());
  EXPECT_FALSE(adapter_config.at("rank_pattern").empty()) << "rank pruning keeps per-module ranks: " << adapter_config.dump();
  auto base = load_pretrained(root / "base", strict).model;
  EXPECT_FALSE(base->config().is_pruned());
  PeftModel reloaded = load_adapter(base, root / "base" / "adapter");
  expect_close(logits_of(reloaded.model, in), expected, "lightpeft on the unmerged hf export");

  if (const std::string why = why_no_venv(); !why.empty()) GTEST_SKIP() << "HF transformers/PEFT checks: " << why;
  EXPECT_EQ(run_python("check_hf_export.py", quoted(root / "hf") + " " + quoted(root / "expected.safetensors")), 0)
      << "HF transformers on the hf export";
  EXPECT_EQ(run_python("check_hf_export.py", quoted(root / "base") + " " + quoted(root / "expected.safetensors") +
                                                  " --adapter " + quoted(root / "base" / "adapter")),
            0)
      << "HF PEFT on the unmerged hf export";

  // A classifier has no GGUF form (the llama family's GGUF is a causal LM), nor has a BERT.
  auto gguf = testing::run_cli("export --run " + run.string() + " --merge --format gguf --out " +
                               (root / "m.gguf").string());
  EXPECT_EQ(gguf.code, 2) << gguf.output;
  EXPECT_TRUE(contains(gguf.output, bert ? "GGUF export writes the llama family" : "sequence_classification head"))
      << gguf.output;
  EXPECT_FALSE(fs::exists(root / "m.gguf"));
}

INSTANTIATE_TEST_SUITE_P(TinyModels, ExportRun, ::testing::Values("bert", "llama"));

TEST(ExportRefusals, UnfinishedRunsAndMergedBottleneckAdapters) {
  testing::TempDir root;
  testing::make_tiny_run_files(root.path());
  const fs::path run = root / "run";
  testing::write_file(root / "cfg.yaml", testing::tiny_config_yaml(root.path(), "adapter", run));
  // Not started: a folder with only the config.
  fs::create_directories(root / "unfinished");
  fs::copy_file(root / "cfg.yaml", root / "unfinished" / "config.yaml");
  auto early = testing::run_cli("export --run " + (root / "unfinished").string() + " --merge --out " +
                                (root / "x").string());
  EXPECT_EQ(early.code, 2) << early.output;
  EXPECT_TRUE(contains(early.output, "the run has not finished (no results.json)")) << early.output;

  auto train = testing::run_cli("train --config " + (root / "cfg.yaml").string());
  ASSERT_EQ(train.code, 0) << train.output;
  auto merged = testing::run_cli("export --run " + run.string() + " --merge --out " + (root / "x").string());
  EXPECT_EQ(merged.code, 2) << merged.output;
  EXPECT_TRUE(contains(merged.output, "bottleneck adapters are nonlinear and cannot be merged")) << merged.output;
  // Unmerged, it exports: the base with the adapter beside it, which lightpeft loads.
  auto unmerged = testing::run_cli("export --run " + run.string() + " --out " + (root / "y").string());
  ASSERT_EQ(unmerged.code, 0) << unmerged.output;
  PeftModel loaded = load_adapter(load_pretrained(root / "y").model, root / "y" / "adapter");
  EXPECT_EQ(loaded.type, PeftType::bottleneck);
  auto bad_format = testing::run_cli("export --run " + run.string() + " --merge --format onnx --out " +
                                     (root / "z").string());
  EXPECT_NE(bad_format.code, 0);
  EXPECT_TRUE(contains(bad_format.output, "onnx")) << bad_format.output;
  auto stray = testing::run_cli("export --run " + run.string() + " --gguf-type Q8_0 --out " + (root / "z").string());
  EXPECT_EQ(stray.code, 2) << stray.output;
  EXPECT_TRUE(contains(stray.output, "--gguf-type applies to --format gguf only")) << stray.output;
  EXPECT_FALSE(fs::exists(root / "z"));
}

// ---- GGUF -----------------------------------------------------------------------------------

// A byte-level BPE tokenizer.json: the 256 byte symbols, a few merges, two special added tokens and
// a plain one; its vocabulary is `tokens` ids.
int64_t write_tiny_bpe(const fs::path& dir) {
  json vocab = json::object();
  int64_t id = 0;
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    vocab[byte_level::bytes_to_unicode(std::string_view(&c, 1))] = id++;
  }
  const std::vector<std::pair<std::string, std::string>> merges = {
      {"\u0120", "t"}, {"h", "e"}, {"\u0120t", "he"}, {"a", "t"}, {"\u0120c", "at"}, {"\u0120", "c"}, {"i", "n"}};
  json merges_json = json::array();
  for (const auto& [a, b] : merges) {
    vocab[a + b] = id++;
    merges_json.push_back({a, b});
  }
  json added = json::array();
  for (const auto& [content, special] : std::vector<std::pair<std::string, bool>>{
           {"<|endoftext|>", true}, {"<|im_start|>", true}, {"<extra>", false}}) {
    added.push_back({{"id", id++}, {"content", content}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", special}});
  }
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}};
  json tok = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
              {"normalizer", nullptr}, {"pre_tokenizer", byte_level}, {"post_processor", byte_level},
              {"decoder", byte_level},
              {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr},
                         {"continuing_subword_prefix", ""}, {"end_of_word_suffix", ""}, {"fuse_unk", false},
                         {"byte_fallback", false}, {"ignore_merges", false}, {"vocab", vocab},
                         {"merges", merges_json}}}};
  testing::write_file(dir / "tokenizer.json", tok.dump());
  const json config = {{"bos_token", "<|im_start|>"}, {"eos_token", "<|endoftext|>"}, {"pad_token", "<|endoftext|>"},
                       {"add_bos_token", false}, {"chat_template", "{% for m in messages %}{{ m['content'] }}{% endfor %}"},
                       {"tokenizer_class", "GPT2Tokenizer"}};
  testing::write_file(dir / "tokenizer_config.json", config.dump(2));
  return id;
}

// A tiny LLaMA causal LM (hidden 64, 4 query heads over 2 KV heads of 16, FFN 96, untied head; two
// embedding rows beyond the tokenizer) in HF layout with that tokenizer.
fs::path make_tiny_causal_llama(const fs::path& dir) {
  fs::create_directories(dir);
  const int64_t tokens = write_tiny_bpe(dir);
  ModelConfig c;
  c.model_type = "llama";
  c.vocab_size = tokens + 2;
  c.hidden_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 16;
  c.intermediate_size = 96;
  c.attention_units_per_layer = {2, 2};
  c.intermediate_per_layer = {96, 96};
  c.max_position_embeddings = 64;
  c.hidden_act = "silu";
  c.layer_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0.0;
  c.pad_token_id = -1;
  c.bos_token_id = tokens - 2;
  c.eos_token_ids = {tokens - 3};
  torch::manual_seed(21);
  save_pretrained(*make_task_model(c, HeadKind::causal_lm), dir);
  return dir;
}

UnitDecision decision(int64_t n, const std::vector<int64_t>& kept) {
  UnitDecision d;
  d.scores.assign(static_cast<size_t>(n), 0.0f);
  d.kept = kept;
  return d;
}

// The model pruned (layer 0: one KV group of two, 50 of 96 neurons; layer 1: both groups, 70
// neurons) with random LoRA on every linear: the same source every call.
ExportSource tiny_causal_source(const fs::path& model_dir) {
  PretrainedOptions options;
  options.head = HeadKind::causal_lm;
  options.strict = true;
  TaskModel base = load_pretrained(model_dir, options).model;
  ExportSource s;
  s.unpruned = layer_units(*base);
  s.plan.layers.resize(2);
  std::vector<int64_t> n0, n1;
  for (int64_t i = 0; i < 96; ++i) {
    if (i % 2 == 0 && n0.size() < 50) n0.push_back(i);
    if (i % 4 != 1 && n1.size() < 70) n1.push_back(i);
  }
  std::sort(n0.begin(), n0.end());
  if (n0.size() < 50)
    for (int64_t i = 1; n0.size() < 50; i += 2) n0.push_back(i);
  std::sort(n0.begin(), n0.end());
  s.plan.layers[0] = {decision(2, {1}), decision(96, n0)};
  s.plan.layers[1] = {decision(2, {0, 1}), decision(96, n1)};
  apply_foundation_plan(*base, s.plan);
  LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8;
  lc.target_modules = TargetModules::list(base->family().all_linear_targets);
  lc.task_type = "CAUSAL_LM";
  s.peft = inject_lora(base, lc);
  torch::manual_seed(23);
  {
    torch::NoGradGuard no_grad;
    for (auto& [path, layer] : s.peft.layers) {
      layer->rank_factor_in().normal_(0.0, 0.2);
      layer->rank_factor_out().normal_(0.0, 0.2);
    }
  }
  s.tokenizer_from = model_dir;
  s.name = "tiny-llama";
  return s;
}

ExportOptions gguf_options(GgmlType type, GgufLayers layers) {
  ExportOptions o;
  o.format = ExportFormat::gguf;
  o.gguf_type = type;
  o.gguf_layers = layers;
  return o;
}

TEST(ExportGguf, PrunedLlamaRoundTripsThroughOurReaderAndTheGgufPackage) {
  testing::TempDir root;
  const fs::path model_dir = make_tiny_causal_llama(root / "model");
  ModelInputs in;
  torch::manual_seed(29);
  in.input_ids = at::randint(0, 262, {2, 6}, at::kLong);
  in.attention_mask = at::ones({2, 6}, at::kLong);
  // lightpeft's logits and weights of the merged (compact) model.
  ExportSource reference = tiny_causal_source(model_dir);
  const at::Tensor expected = logits_of(reference.peft.model, in);
  TaskModel merged = merge_and_unload(reference.peft);
  const StateDict merged_weights = module_state_dict(*merged);
  expect_close(logits_of(merged, in), expected, "merged");
  save_safetensors(root / "compact.safetensors", merged_weights);

  // per-layer F32: our reader gives back the compact config, the same weights, the same logits.
  {
    ExportSource s = tiny_causal_source(model_dir);
    export_model(s, root / "per_layer.f32.gguf", gguf_options(GgmlType::F32, GgufLayers::per_layer));
  }
  const GgufFile file = GgufFile::open(root / "per_layer.f32.gguf");
  EXPECT_EQ(file.version(), 3u);
  EXPECT_EQ(file.get<std::string>("general.architecture"), "llama");
  EXPECT_EQ(file.get<std::vector<int64_t>>("llama.feed_forward_length"), (std::vector<int64_t>{50, 70}));
  EXPECT_EQ(file.get<std::vector<int64_t>>("llama.attention.head_count"), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(file.get<std::vector<int64_t>>("llama.attention.head_count_kv"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(file.get<int64_t>("llama.rope.dimension_count"), 16);
  const HfFolderContents back = gguf_to_hf(file);
  const ModelConfig got = parse_model_config(back.config_json, "round trip");
  const ModelConfig& want = merged->config();
  EXPECT_EQ(got.attention_units_per_layer, want.attention_units_per_layer);
  EXPECT_EQ(got.intermediate_per_layer, want.intermediate_per_layer);
  EXPECT_EQ(got.heads_per_unit(), want.heads_per_unit());
  EXPECT_EQ(got.head_size(), want.head_size());
  EXPECT_EQ(got.hidden_size, want.hidden_size);
  EXPECT_EQ(got.vocab_size, want.vocab_size);
  EXPECT_EQ(got.tie_word_embeddings, want.tie_word_embeddings);
  EXPECT_FLOAT_EQ(static_cast<float>(got.layer_norm_eps), static_cast<float>(want.layer_norm_eps));
  EXPECT_EQ(got.rope_theta, want.rope_theta);
  ASSERT_EQ(back.weights.size(), merged_weights.size());
  for (const auto& [key, t] : merged_weights) {
    ASSERT_TRUE(back.weights.count(key)) << key;
    EXPECT_TRUE(at::equal(back.weights.at(key), t.to(at::kFloat))) << key;
  }
  write_hf_folder(root / "per_layer.f32.gguf", root / "back");
  PretrainedOptions strict;
  strict.head = HeadKind::causal_lm;
  strict.strict = true;
  expect_close(logits_of(load_pretrained(root / "back", strict).model, in), expected, "per-layer F32 round trip");
  // The tokenizer comes back encoding as the original.
  const std::string text = "the cat in the hat<|endoftext|> at <extra>";
  EXPECT_EQ(load_tokenizer(root / "back")->encode_plain(text), load_tokenizer(model_dir)->encode_plain(text));

  // uniform: every layer padded to the widest (llama.cpp's one shape per model), same logits.
  for (const GgmlType type : {GgmlType::F32, GgmlType::Q8_0}) {
    const fs::path gguf = root / (std::string("uniform.") + ggml_type_name(type) + ".gguf");
    ExportSource s = tiny_causal_source(model_dir);
    export_model(s, gguf, gguf_options(type, GgufLayers::uniform));
    const GgufFile f = GgufFile::open(gguf);
    // Q8_0 pads the FFN to whole 32-value blocks (70 -> 96, the unpruned width).
    EXPECT_EQ(f.value("llama.feed_forward_length").type(), GgufType::UInt32);
    EXPECT_EQ(f.get<int64_t>("llama.feed_forward_length"), type == GgmlType::Q8_0 ? 96 : 70);
    EXPECT_EQ(f.get<int64_t>("llama.attention.head_count_kv"), 2);
    write_hf_folder(gguf, root / "uniform");
    const at::Tensor got_logits = logits_of(load_pretrained(root / "uniform", strict).model, in);
    if (type == GgmlType::F32) {
      expect_close(got_logits, expected, "uniform F32 round trip");
    } else {
      expect_close(got_logits, expected, "uniform Q8_0 round trip (quantized)", 0.1);
    }
    // The padded weights the file was made from, for the gguf package's check below.
    ExportSource p = tiny_causal_source(model_dir);
    const auto selections = pad_to_widest(p.unpruned, p.plan, type == GgmlType::Q8_0 ? 32 : 1);
    TaskModel m = merge_and_unload(p.peft);
    save_safetensors(root / (std::string("uniform.") + ggml_type_name(type) + ".safetensors"),
                     pad_model_weights(module_state_dict(*m), make_unit_padding(p.unpruned, selections)));
  }

  // The other types, per layer.
  for (const GgmlType type : {GgmlType::F16, GgmlType::Q8_0}) {
    ExportSource s = tiny_causal_source(model_dir);
    export_model(s, root / (std::string("per_layer.") + ggml_type_name(type) + ".gguf"),
                 gguf_options(type, GgufLayers::per_layer));
  }

  // Q8_0 where rows are whole blocks; layer 0's 50-wide down_proj rows are not: F16, as the
  // converter falls back (the gguf package's check below checks every tensor's type).
  {
    const GgufFile q8 = GgufFile::open(root / "per_layer.Q8_0.gguf");
    auto type_of = [&](const std::string& name) {
      for (const auto& t : q8.tensors())
        if (t.name == name) return t.type;
      ADD_FAILURE() << name << " missing";
      return GgmlType::F32;
    };
    EXPECT_EQ(type_of("blk.0.ffn_up.weight"), GgmlType::Q8_0);
    EXPECT_EQ(type_of("blk.0.ffn_down.weight"), GgmlType::F16);
    EXPECT_EQ(type_of("blk.1.ffn_down.weight"), GgmlType::F16);  // 70 wide
    EXPECT_EQ(type_of("blk.0.attn_output.weight"), GgmlType::Q8_0);
    EXPECT_EQ(type_of("blk.0.attn_norm.weight"), GgmlType::F32);
  }
  // What our reader dequantizes, tensor by tensor under GGUF names, for the gguf package to compare
  // with its own dequantization.
  for (const std::string stem : {"per_layer.F16", "per_layer.Q8_0", "uniform.Q8_0"}) {
    const GgufFile f = GgufFile::open(root / (stem + ".gguf"));
    StateDict ours;
    for (const auto& t : f.tensors()) ours[t.name] = f.load_tensor(t);
    save_safetensors(root / (stem + ".ours.safetensors"), ours);
  }

  // The same pruned causal LM as hf, merged and with its adapter: HF's LlamaForCausalLM (and PEFT)
  // with lightpeft's logits over the whole vocabulary, layer 0's pruned KV group zero-padded (its
  // two query heads, its k/v head).
  for (const bool merge : {true, false}) {
    ExportSource s = tiny_causal_source(model_dir);
    ExportOptions o;
    o.merge = merge;
    export_model(s, root / (merge ? "hf" : "hf_base"), o);
  }
  save_expected(root / "expected.safetensors", in, expected);

  if (const std::string why = why_no_venv(); !why.empty()) GTEST_SKIP() << "the gguf package's checks: " << why;
  EXPECT_EQ(run_python("check_hf_export.py", quoted(root / "hf") + " " + quoted(root / "expected.safetensors") +
                                                  " --causal-lm"),
            0)
      << "HF transformers on the hf export of a causal LM";
  EXPECT_EQ(run_python("check_hf_export.py", quoted(root / "hf_base") + " " + quoted(root / "expected.safetensors") +
                                                  " --causal-lm --adapter " + quoted(root / "hf_base" / "adapter")),
            0)
      << "HF PEFT on the unmerged hf export of a causal LM";
  const std::vector<std::pair<std::string, std::string>> checks = {
      {"per_layer.F32.gguf", "compact"}, {"per_layer.F16.gguf", "compact"}, {"per_layer.Q8_0.gguf", "compact"},
      {"uniform.F32.gguf", "uniform.F32"}, {"uniform.Q8_0.gguf", "uniform.Q8_0"}};
  fs::rename(root / "per_layer.f32.gguf", root / "per_layer.F32.gguf");
  for (const auto& [gguf, weights] : checks) {
    const std::string type = gguf.substr(gguf.find('.') + 1, gguf.rfind('.') - gguf.find('.') - 1);
    const fs::path ours = root / (gguf.substr(0, gguf.rfind('.')) + ".ours.safetensors");
    EXPECT_EQ(run_python("check_gguf_export.py", quoted(root / gguf) + " " + quoted(root / (weights + ".safetensors")) +
                                                     " " + quoted(model_dir) + " " + type + " gpt-2" +
                                                     (fs::exists(ours) ? " --ours " + quoted(ours) : "")),
              0)
        << gguf;
  }
}

TEST(ExportGguf, RefusesWhatLlamaCppCannotHold) {
  testing::TempDir root;
  const fs::path model_dir = make_tiny_causal_llama(root / "model");
  {  // without --merge
    ExportSource s = tiny_causal_source(model_dir);
    ExportOptions o = gguf_options(GgmlType::F16, GgufLayers::uniform);
    o.merge = false;
    EXPECT_THROW(export_model(s, root / "a.gguf", o), Error);
  }
  {  // a tokenizer that is not byte-level BPE
    json tok = json::parse(testing::read_file(model_dir / "tokenizer.json"));
    tok["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "\u2581"}};
    testing::write_file(model_dir / "tokenizer.json", tok.dump());
    ExportSource s = tiny_causal_source(model_dir);
    try {
      export_model(s, root / "b.gguf", gguf_options(GgmlType::F16, GgufLayers::uniform));
      ADD_FAILURE() << "a Metaspace pre-tokenizer was accepted";
    } catch (const Error& e) {
      EXPECT_TRUE(contains(e.what(), "has no tokenizer.ggml.pre name")) << e.what();
    }
    EXPECT_FALSE(fs::exists(root / "b.gguf"));
  }
}

}  // namespace
}  // namespace lightpeft
