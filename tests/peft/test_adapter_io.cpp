// Adapter files in HF PEFT's layout: save -> load round trips bit-exactly, adapter_config.json has
// what HF PEFT needs, malformed files fail with errors naming file and key, adapters HF PEFT wrote
// give HF's logits here, and adapters written here give the same logits in HF PEFT.
#include <cstdlib>
#include <fstream>

#include <ATen/ops/equal.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/adapter_io.h"
#include "peft_test_util.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::max_abs_diff;
using testing::random_inputs;
using testing::TempDir;
using testing::tiny_model;

void perturb(PeftModel& peft, uint64_t seed) {
  torch::manual_seed(seed);
  torch::NoGradGuard no_grad;
  for (auto& kv : peft.layers)
    if (kv.second->rank() > 0) kv.second->rank_factor_out().normal_(0.0, 0.3);
  for (auto& p : peft.model->named_parameters())
    if (p.key().rfind("classifier.", 0) == 0) p.value().normal_(0.0, 0.3);
}

// Light-PEFT after its prune stage: different ranks per module and some without LoRA.
PeftModel pruned_light_peft(TaskModel base) {
  LoraConfig c = light_peft_lora_config();
  c.lora_dropout = 0.0;
  c.rank_pattern = {{"layer.0.attention.self.key", 0}};
  auto peft = inject_lora(base, c);
  perturb(peft, 21);
  peft.lora(base->base_model_prefix() + ".encoder.layer.0.attention.self.query")->keep_ranks({1, 5, 6});
  peft.lora(base->base_model_prefix() + ".encoder.layer.1.intermediate.dense")->keep_ranks({});
  peft.lora(base->base_model_prefix() + ".encoder.layer.1.output.dense")->keep_ranks({0});
  return peft;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(testing::read_file(p)); }

void write_json(const fs::path& p, const nlohmann::json& j) { testing::write_file(p, j.dump(2)); }

// The error message of f(), or "" when it does not throw lightpeft::Error.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(AdapterIo, SaveLoadRoundTripIsBitExact) {
  for (auto type : {"bert", "roberta"}) {
    auto peft = pruned_light_peft(tiny_model(type, 2, 31));
    TempDir dir;
    save_adapter(peft, dir.path());
    auto loaded = load_adapter(tiny_model(type, 2, 31), dir.path());
    EXPECT_EQ(loaded.injected_paths().size(), peft.injected_paths().size() - 1);  // r=0 dropped
    auto a = adapter_state_dict(peft), b = adapter_state_dict(loaded);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& kv : a) {
      ASSERT_TRUE(b.count(kv.first)) << kv.first;
      EXPECT_TRUE(at::equal(kv.second, b.at(kv.first))) << kv.first;
    }
    for (const auto& kv : loaded.layers) {
      EXPECT_EQ(loaded.lora(kv.first)->r(), peft.lora(kv.first)->r()) << kv.first;
      EXPECT_NEAR(loaded.lora(kv.first)->scaling(), peft.lora(kv.first)->scaling(), 1e-12) << kv.first;
    }
    peft.model->eval();
    loaded.model->eval();
    torch::NoGradGuard no_grad;
    auto in = random_inputs();
    EXPECT_TRUE(at::equal(peft.forward(in).logits, loaded.forward(in).logits)) << type;
    // And saving the loaded model again writes the same files.
    TempDir again;
    save_adapter(loaded, again.path());
    EXPECT_EQ(testing::read_file(dir / kAdapterConfigFile),
              testing::read_file(again / kAdapterConfigFile));
    EXPECT_EQ(testing::read_file(dir / kAdapterWeightsFile),
              testing::read_file(again / kAdapterWeightsFile));
  }
}

TEST(AdapterIo, ConfigCarriesWhatHfPeftNeeds) {
  LoraConfig c = light_peft_lora_config();
  c.base_model_name_or_path = "roberta-base";
  auto peft = inject_lora(tiny_model("roberta"), c);
  TempDir dir;
  save_adapter(peft, dir.path());
  auto j = read_json(dir / kAdapterConfigFile);
  EXPECT_EQ(j["peft_type"], "LORA");
  EXPECT_EQ(j["task_type"], "SEQ_CLS");
  EXPECT_EQ(j["r"], 8);
  EXPECT_EQ(j["lora_alpha"], 16);
  EXPECT_DOUBLE_EQ(j["lora_dropout"].get<double>(), 0.05);
  EXPECT_EQ(j["target_modules"],
            nlohmann::json({"query", "key", "value", "attention.output.dense",
                            "intermediate.dense", "output.dense"}));
  EXPECT_EQ(j["modules_to_save"], nlohmann::json({"classifier"}));
  EXPECT_EQ(j["rank_pattern"], nlohmann::json::object());
  EXPECT_EQ(j["alpha_pattern"], nlohmann::json::object());
  EXPECT_TRUE(j["layers_to_transform"].is_null());
  EXPECT_EQ(j["use_rslora"], false);
  EXPECT_EQ(j["bias"], "none");
  EXPECT_EQ(j["fan_in_fan_out"], false);
  EXPECT_EQ(j["init_lora_weights"], true);
  EXPECT_EQ(j["use_dora"], false);
  EXPECT_EQ(j["base_model_name_or_path"], "roberta-base");
  // Weights: HF keys with the base_model.model. prefix; the head under its plain keys.
  std::map<std::string, std::string> meta;
  auto w = load_safetensors(dir / kAdapterWeightsFile, &meta);
  EXPECT_EQ(meta["format"], "pt");
  EXPECT_EQ(w.size(), 2u * 12 + 4);
  EXPECT_TRUE(w.count("base_model.model.roberta.encoder.layer.1.output.dense.lora_A.weight"));
  EXPECT_TRUE(w.count("base_model.model.classifier.out_proj.weight"));
  EXPECT_TRUE(w.count("base_model.model.classifier.dense.bias"));
}

TEST(AdapterIo, PrunedRanksAreWrittenAsFullPathPatterns) {
  auto peft = pruned_light_peft(tiny_model("bert"));
  TempDir dir;
  save_adapter(peft, dir.path());
  auto j = read_json(dir / kAdapterConfigFile);
  auto targets = j["target_modules"].get<std::vector<std::string>>();
  EXPECT_EQ(targets.size(), 12u - 2);  // key of layer 0 (rank 0) and intermediate of layer 1 gone
  EXPECT_EQ(std::count(targets.begin(), targets.end(), "bert.encoder.layer.1.intermediate.dense"), 0);
  EXPECT_EQ(j["rank_pattern"]["bert.encoder.layer.0.attention.self.query"], 3);
  EXPECT_EQ(j["rank_pattern"]["bert.encoder.layer.1.output.dense"], 1);
  // Scaling 16/8 = 2 kept: alpha = 2 * r.
  EXPECT_EQ(j["alpha_pattern"]["bert.encoder.layer.0.attention.self.query"], 6);
  EXPECT_EQ(j["alpha_pattern"]["bert.encoder.layer.1.output.dense"], 2);
  EXPECT_FALSE(j["rank_pattern"].contains("bert.encoder.layer.0.attention.self.value"));
}

TEST(AdapterIo, BottleneckAdaptersRoundTrip) {
  auto peft = inject_adapters(tiny_model("bert", 2, 41), houlsby_adapter_config());
  peft.layer_as<BottleneckAdapterImpl>("bert.encoder.layer.1.output.dense")->keep_ranks({0, 3, 4});
  TempDir dir;
  save_adapter(peft, dir.path());
  auto j = read_json(dir / kAdapterConfigFile);
  EXPECT_EQ(j["peft_type"], "BOTTLENECK");
  EXPECT_EQ(j["rank_pattern"]["bert.encoder.layer.1.output.dense"], 3);
  auto loaded = load_adapter(tiny_model("bert", 2, 41), dir.path());
  ASSERT_EQ(loaded.type, PeftType::bottleneck);
  EXPECT_EQ(loaded.layer_as<BottleneckAdapterImpl>("bert.encoder.layer.1.output.dense")->bottleneck_size(), 3);
  auto a = adapter_state_dict(peft), b = adapter_state_dict(loaded);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& kv : a) EXPECT_TRUE(at::equal(kv.second, b.at(kv.first))) << kv.first;
}

class MalformedAdapter : public ::testing::Test {
 protected:
  void SetUp() override {
    LoraConfig c = lora_baseline_config();
    c.r = 4;
    save_adapter(inject_lora(tiny_model("bert"), c), dir_.path());
  }
  std::string load_error() {
    return error_of([&] { load_adapter(tiny_model("bert"), dir_.path()); });
  }
  void edit_config(const std::function<void(nlohmann::json&)>& edit) {
    auto j = read_json(dir_ / kAdapterConfigFile);
    edit(j);
    write_json(dir_ / kAdapterConfigFile, j);
  }
  void edit_weights(const std::function<void(StateDict&)>& edit) {
    auto w = load_safetensors(dir_ / kAdapterWeightsFile);
    edit(w);
    save_safetensors(dir_ / kAdapterWeightsFile, w);
  }
  TempDir dir_;
};

#define EXPECT_HAS(message, part) \
  EXPECT_NE((message).find(part), std::string::npos) << "message: " << (message)

TEST_F(MalformedAdapter, CleanFilesLoad) { EXPECT_EQ(load_error(), ""); }

TEST_F(MalformedAdapter, MissingConfig) {
  fs::remove(dir_ / kAdapterConfigFile);
  EXPECT_HAS(load_error(), "no adapter_config.json");
}

TEST_F(MalformedAdapter, MissingWeights) {
  fs::remove(dir_ / kAdapterWeightsFile);
  EXPECT_HAS(load_error(), "no adapter_model.safetensors");
}

TEST_F(MalformedAdapter, NotJson) {
  testing::write_file(dir_ / kAdapterConfigFile, "{\"r\": 4,");
  auto e = load_error();
  EXPECT_HAS(e, "adapter_config.json");
  EXPECT_HAS(e, "not valid JSON");
}

TEST_F(MalformedAdapter, UnknownPeftType) {
  edit_config([](nlohmann::json& j) { j["peft_type"] = "IA3"; });
  auto e = load_error();
  EXPECT_HAS(e, "adapter_config.json: key 'peft_type'");
  EXPECT_HAS(e, "\"IA3\" is not supported");
}

TEST_F(MalformedAdapter, IllTypedField) {
  edit_config([](nlohmann::json& j) { j["r"] = "four"; });
  EXPECT_HAS(load_error(), "key 'r': expected an integer, got \"four\"");
  edit_config([](nlohmann::json& j) { j["r"] = 4; j["lora_dropout"] = 1.5; });
  EXPECT_HAS(load_error(), "key 'lora_dropout': must be in [0, 1)");
  edit_config([](nlohmann::json& j) { j["lora_dropout"] = 0.0; j["use_dora"] = true; });
  EXPECT_HAS(load_error(), "key 'use_dora'");
  edit_config([](nlohmann::json& j) { j["use_dora"] = false; j["rank_pattern"] = {{"query", "x"}}; });
  EXPECT_HAS(load_error(), "key 'rank_pattern.query': expected an integer");
}

TEST_F(MalformedAdapter, ShapeMismatchNamesTheKeyAndTheRank) {
  edit_config([](nlohmann::json& j) { j["rank_pattern"] = {{"layer.1.attention.self.value", 2}}; });
  auto e = load_error();
  EXPECT_HAS(e, "adapter_model.safetensors: key "
                "'base_model.model.bert.encoder.layer.1.attention.self.value.lora_A.weight' has "
                "shape [4, 24], expected [2, 24]");
  EXPECT_HAS(e, "r = 2 for 'bert.encoder.layer.1.attention.self.value'");
}

TEST_F(MalformedAdapter, MissingKey) {
  edit_weights([](StateDict& w) {
    w.erase("base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight");
  });
  auto e = load_error();
  EXPECT_HAS(e, "adapter_model.safetensors: missing key "
                "'base_model.model.bert.encoder.layer.0.attention.self.query.lora_B.weight'");
}

TEST_F(MalformedAdapter, UnexpectedKey) {
  edit_weights([](StateDict& w) {
    w["base_model.model.bert.encoder.layer.0.attention.self.key.lora_A.weight"] =
        w.begin()->second.clone();
  });
  EXPECT_HAS(load_error(), "unexpected key "
                           "'base_model.model.bert.encoder.layer.0.attention.self.key.lora_A.weight'");
}

TEST_F(MalformedAdapter, AFailedLoadLeavesTheBaseModelAsItWas) {
  edit_weights([](StateDict& w) { w.erase(w.begin()); });
  auto base = tiny_model("bert");
  auto keys = module_state_dict(*base);
  EXPECT_THROW(load_adapter(base, dir_.path()), Error);
  auto after = module_state_dict(*base);
  ASSERT_EQ(after.size(), keys.size());
  for (const auto& kv : keys) EXPECT_TRUE(after.count(kv.first)) << kv.first;
  for (const auto& p : base->parameters()) EXPECT_TRUE(p.requires_grad());
  // And the base can take the (repaired) adapter afterwards.
  EXPECT_NO_THROW(inject_lora(base, lora_baseline_config()));
}

TEST_F(MalformedAdapter, TargetsNothingOnThisModel) {
  edit_config([](nlohmann::json& j) { j["target_modules"] = {"q_proj", "v_proj"}; });
  EXPECT_HAS(load_error(), "[q_proj, v_proj] matched no linear layer");
}

// ---- cross-tool: HF PEFT <-> lightpeft ----

fs::path golden(const std::string& name) { return testing::golden_dir() / "peft" / name; }

ModelInputs inputs_of(const StateDict& e, bool with_types) {
  ModelInputs in;
  in.input_ids = e.at("input_ids");
  in.attention_mask = e.at("attention_mask");
  if (with_types) in.token_type_ids = e.at("token_type_ids");
  return in;
}

void check_hf_adapter(const std::string& base, const std::string& adapter, bool with_types) {
  ASSERT_TRUE(fs::exists(golden(adapter) / kAdapterConfigFile))
      << "golden files missing: run tests/golden/make_test_golden.py (ctest fixture golden)";
  auto model = load_pretrained(golden(base), {HeadKind::sequence_classification, 0, true}).model;
  auto peft = load_adapter(model, golden(adapter));
  peft.model->eval();
  torch::NoGradGuard no_grad;
  auto expected = load_safetensors(golden(adapter) / "expected.safetensors");
  auto logits = peft.forward(inputs_of(expected, with_types)).logits;
  EXPECT_LT(max_abs_diff(logits, expected.at("logits")), 1e-5) << adapter;
}

TEST(HfPeftParity, BertAdapterWithRankAndAlphaPatterns) {
  check_hf_adapter("bert_base", "bert_lora", true);
}
TEST(HfPeftParity, RobertaAdapterWithRegexTargetsAndRsLora) {
  check_hf_adapter("roberta_base", "roberta_lora_regex", false);
}
TEST(HfPeftParity, RobertaAdapterWithLayersToTransform) {
  check_hf_adapter("roberta_base", "roberta_lora_layer1", false);
  auto peft = load_adapter(load_pretrained(golden("roberta_base")).model, golden("roberta_lora_layer1"));
  for (const auto& path : peft.injected_paths())
    EXPECT_NE(path.find(".layer.1."), std::string::npos) << path;
  EXPECT_EQ(peft.layers.size(), 6u);
}

TEST(HfPeftParity, LightpeftAdapterLoadsInHfPeft) {
  const std::string python = testing::python_path();
  if (python.empty()) GTEST_SKIP() << "no venv python known (set LIGHTPEFT_PYTHON)";
  for (const std::string base : {"bert_base", "roberta_base"}) {
    ASSERT_TRUE(fs::exists(golden(base) / "config.json")) << "golden files missing";
    auto peft = pruned_light_peft(load_pretrained(golden(base), {HeadKind::sequence_classification, 0, true}).model);
    peft.model->eval();
    TempDir dir;
    save_adapter(peft, dir / "adapter");
    torch::NoGradGuard no_grad;
    const bool bert = base == "bert_base";
    auto in = random_inputs(3, 9, bert ? 101 : 120);
    StateDict expected = {{"input_ids", in.input_ids},
                          {"attention_mask", in.attention_mask},
                          {"logits", peft.forward(in).logits}};
    save_safetensors(dir / "expected.safetensors", expected);
    const std::string cmd = std::string("\"") + python + "\" \"" +
                            (testing::source_dir() / "tests/peft/check_hf_peft.py").string() +
                            "\" \"" + golden(base).string() + "\" \"" +
                            (dir / "adapter").string() + "\" \"" +
                            (dir / "expected.safetensors").string() + "\" 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
}

}  // namespace
}  // namespace lightpeft
