// Injection by target names with HF PEFT's rules, freezing, the trainable-parameter report,
// merge_and_unload, and head/neuron pruning through LoRA wrappers.
#include <algorithm>
#include <regex>

#include <ATen/ops/equal.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/models/bert.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/peft/inject.h"
#include "peft_test_util.h"

namespace lightpeft {
namespace {

using testing::max_abs_diff;
using testing::random_inputs;
using testing::tiny_model;

// Gives every LoRA B (zero-initialised) random values so LoRA changes the outputs.
void perturb_lora(PeftModel& peft, double std = 0.3) {
  torch::NoGradGuard no_grad;
  for (auto& kv : peft.layers)
    if (kv.second->rank() > 0) kv.second->rank_factor_out().normal_(0.0, std);
}

bool has(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(TargetMatching, ListIsExactOrDotSuffixRegexIsFullMatch) {
  const std::string q = "bert.encoder.layer.1.attention.self.query";
  EXPECT_TRUE(matches_targets(TargetModules::list({"query"}), {}, q));
  EXPECT_TRUE(matches_targets(TargetModules::list({"self.query"}), {}, q));
  EXPECT_TRUE(matches_targets(TargetModules::list({q}), {}, q));
  EXPECT_FALSE(matches_targets(TargetModules::list({"uery"}), {}, q));  // suffix after a dot only
  EXPECT_TRUE(matches_targets(TargetModules::pattern(R"(.*layer\.1\..*query)"), {}, q));
  EXPECT_FALSE(matches_targets(TargetModules::pattern("query"), {}, q));  // full match
  // "output.dense" is both the attention output and the FFN output (HF suffix semantics).
  EXPECT_TRUE(matches_targets(TargetModules::list({"output.dense"}), {},
                              "bert.encoder.layer.0.attention.output.dense"));
  EXPECT_TRUE(matches_targets(TargetModules::list({"output.dense"}), {},
                              "bert.encoder.layer.0.output.dense"));
}

TEST(TargetMatching, LayersToTransformUsesTheFirstIndexInThePath) {
  EXPECT_EQ(layer_index_of("bert.encoder.layer.3.output.dense"), 3);
  EXPECT_EQ(layer_index_of("roberta.encoder.layer.11.attention.self.value"), 11);
  EXPECT_FALSE(layer_index_of("classifier.dense").has_value());
  const auto q = TargetModules::list({"query"});
  EXPECT_TRUE(matches_targets(q, {1}, "bert.encoder.layer.1.attention.self.query"));
  EXPECT_FALSE(matches_targets(q, {1}, "bert.encoder.layer.0.attention.self.query"));
  EXPECT_FALSE(matches_targets(q, {1}, "bert.encoder.layer.11.attention.self.query"));
}

TEST(TargetMatching, PatternKeysMatchAsHfGetPatternKey) {
  PatternMap<int64_t> p = {{"layer.1.attention.self.value", 2}, {"value", 5}};
  EXPECT_EQ(match_pattern(p, "bert.encoder.layer.1.attention.self.value"), 2);
  EXPECT_EQ(match_pattern(p, "bert.encoder.layer.0.attention.self.value"), 5);
  EXPECT_FALSE(match_pattern(p, "bert.encoder.layer.0.attention.self.query").has_value());
  PatternMap<double> regex = {{R"(layer\.[01]\..*query)", 3.0}};
  EXPECT_EQ(match_pattern(regex, "bert.encoder.layer.0.attention.self.query"), 3.0);
}

TEST(Inject, LightPeftDefaultsWrapAllSixLinearsPerLayer) {
  for (auto type : {"bert", "roberta"}) {
    auto peft = inject_lora(tiny_model(type, 3), light_peft_lora_config());
    EXPECT_EQ(peft.layers.size(), 18u) << type;
    const std::string p = type == "bert" ? "bert" : "roberta";
    for (const char* s : {"attention.self.query", "attention.self.key", "attention.self.value",
                          "attention.output.dense", "intermediate.dense", "output.dense"})
      EXPECT_TRUE(peft.layers.count(p + ".encoder.layer.2." + s)) << s;
    // Never the pooler, never the head (it is a module to save).
    for (const auto& path : peft.injected_paths()) {
      EXPECT_EQ(path.find("pooler"), std::string::npos) << path;
      EXPECT_EQ(path.find("classifier"), std::string::npos) << path;
    }
    EXPECT_EQ(peft.modules_to_save, std::vector<std::string>{"classifier"});
    EXPECT_EQ(peft.lora(peft.layers.begin()->first)->r(), 8);
    EXPECT_DOUBLE_EQ(peft.lora(peft.layers.begin()->first)->scaling(), 2.0);
  }
}

TEST(Inject, BaselineIsQueryAndValueOnly) {
  auto peft = inject_lora(tiny_model("bert", 2), lora_baseline_config());
  EXPECT_EQ(peft.injected_paths(),
            (std::vector<std::string>{"bert.encoder.layer.0.attention.self.query",
                                      "bert.encoder.layer.0.attention.self.value",
                                      "bert.encoder.layer.1.attention.self.query",
                                      "bert.encoder.layer.1.attention.self.value"}));
}

TEST(Inject, RankPatternAlphaPatternLayersAndExclude) {
  LoraConfig c = light_peft_lora_config();
  c.layers_to_transform = {1};
  c.rank_pattern = {{"attention.self.key", 2}, {"intermediate.dense", 0}};
  c.alpha_pattern = {{"value", 4.0}};
  c.exclude_modules = TargetModules::list({"attention.output.dense"});
  auto peft = inject_lora(tiny_model("bert", 2), c);
  EXPECT_EQ(peft.injected_paths(),
            (std::vector<std::string>{"bert.encoder.layer.1.attention.self.key",
                                      "bert.encoder.layer.1.attention.self.query",
                                      "bert.encoder.layer.1.attention.self.value",
                                      "bert.encoder.layer.1.output.dense"}));
  EXPECT_EQ(peft.lora("bert.encoder.layer.1.attention.self.key")->r(), 2);
  EXPECT_DOUBLE_EQ(peft.lora("bert.encoder.layer.1.attention.self.key")->scaling(), 8.0);
  EXPECT_DOUBLE_EQ(peft.lora("bert.encoder.layer.1.attention.self.value")->scaling(), 0.5);
  // Rank 0 leaves a plain Dense in the slot.
  auto layer = dynamic_cast<BertModelImpl&>(peft.model->backbone()).encoder->layer_at(1);
  EXPECT_NE(dynamic_cast<DenseImpl*>(layer->intermediate->dense.get()), nullptr);
}

TEST(Inject, ModuleKeysFollowHfPeft) {
  auto peft = inject_lora(tiny_model("bert", 1), lora_baseline_config());
  auto keys = module_state_dict(*peft.model);
  EXPECT_TRUE(keys.count("bert.encoder.layer.0.attention.self.query.base_layer.weight"));
  EXPECT_TRUE(keys.count("bert.encoder.layer.0.attention.self.query.base_layer.bias"));
  EXPECT_TRUE(keys.count("bert.encoder.layer.0.attention.self.query.lora_A.weight"));
  EXPECT_TRUE(keys.count("bert.encoder.layer.0.attention.self.query.lora_B.weight"));
  EXPECT_FALSE(keys.count("bert.encoder.layer.0.attention.self.query.weight"));
  EXPECT_TRUE(keys.count("bert.encoder.layer.0.attention.self.key.weight"));
}

TEST(Inject, ClearErrors) {
  LoraConfig c = lora_baseline_config();
  c.target_modules = TargetModules::list({"qkv"});
  try {
    inject_lora(tiny_model("bert"), c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[qkv] matched no linear layer"), std::string::npos)
        << e.what();
  }
  c.target_modules = TargetModules::list({"attention.output"});  // a block, not a linear
  EXPECT_THROW(inject_lora(tiny_model("bert"), c), Error);
  c.target_modules = TargetModules::pattern("([unclosed");
  EXPECT_THROW(inject_lora(tiny_model("bert"), c), Error);
  c = lora_baseline_config();
  c.bias = "all";
  EXPECT_THROW(inject_lora(tiny_model("bert"), c), Error);
  c = lora_baseline_config();
  c.r = 0;
  EXPECT_THROW(inject_lora(tiny_model("bert"), c), Error);
  // Twice on one model.
  auto peft = inject_lora(tiny_model("bert"), lora_baseline_config());
  EXPECT_THROW(inject_lora(peft.model, lora_baseline_config()), Error);
}

TEST(Inject, GradientsReachOnlyPeftAndTheHead) {
  for (auto type : {"bert", "roberta"}) {
    torch::manual_seed(11);
    LoraConfig c = light_peft_lora_config();
    c.rank_pattern = {{"layer.0.attention.self.key", 0}};
    auto peft = inject_lora(tiny_model(type), c);
    perturb_lora(peft);
    auto in = random_inputs();
    auto logits = peft.forward(in).logits;
    auto loss = sequence_classification_loss(peft.model->config(), logits,
                                             at::zeros({in.input_ids.size(0)}, at::kLong));
    loss.backward();
    int64_t with_grad = 0;
    for (const auto& p : peft.model->named_parameters()) {
      const std::string& k = p.key();
      const bool should = k.find("lora_") != std::string::npos || k.rfind("classifier.", 0) == 0;
      EXPECT_EQ(p.value().requires_grad(), should) << k;
      if (should) {
        ASSERT_TRUE(p.value().grad().defined()) << k;
        EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << k;
        ++with_grad;
      } else {
        EXPECT_FALSE(p.value().grad().defined()) << k;
      }
    }
    // 2 layers x 6 linears - 1 of rank 0, A and B each, plus the head.
    EXPECT_EQ(with_grad, 22 + (type == "bert" ? 2 : 4));
  }
}

TEST(Inject, TrainableReportLikeHf) {
  auto peft = inject_lora(tiny_model("bert", 2), lora_baseline_config());
  int64_t trainable = 0, all = 0;
  for (const auto& p : peft.model->parameters()) {
    all += p.numel();
    if (p.requires_grad()) trainable += p.numel();
  }
  // 4 modules x 8 x (24 + 24) + classifier 3 x 24 + 3.
  EXPECT_EQ(trainable, 4 * 8 * 48 + 75);
  auto report = trainable_parameter_report(*peft.model);
  EXPECT_TRUE(std::regex_match(report, std::regex(R"(trainable params: 1,611 \|\| all params: [0-9,]+ \|\| trainable%: \d+\.\d{4})")))
      << report;
}

TEST(Inject, MergeAndUnloadGivesAPlainModelWithTheSameOutputs) {
  torch::manual_seed(12);
  LoraConfig c = light_peft_lora_config();
  c.rank_pattern = {{"layer.1.output.dense", 3}};
  auto peft = inject_lora(tiny_model("roberta"), c);
  perturb_lora(peft);
  peft.model->eval();
  torch::NoGradGuard no_grad;
  auto in = random_inputs();
  auto before = peft.forward(in).logits;
  merge_lora(peft);
  EXPECT_LT(max_abs_diff(peft.forward(in).logits, before), 1e-5);
  unmerge_lora(peft);
  EXPECT_LT(max_abs_diff(peft.forward(in).logits, before), 1e-5);
  auto plain = merge_and_unload(peft);
  EXPECT_TRUE(peft.layers.empty());
  EXPECT_LT(max_abs_diff(plain->forward(in).logits, before), 1e-5);
  for (const auto& m : plain->modules()) EXPECT_EQ(dynamic_cast<LoraLinearImpl*>(m.get()), nullptr);
  // The keys are HF's plain keys again, so save_pretrained writes an ordinary HF model.
  auto fresh = module_state_dict(*tiny_model("roberta"));
  auto merged = module_state_dict(*plain);
  ASSERT_EQ(merged.size(), fresh.size());
  for (const auto& kv : fresh) EXPECT_TRUE(merged.count(kv.first)) << kv.first;
}

TEST(Inject, HeadAndNeuronPruningWorkThroughLoraWrappers) {
  torch::manual_seed(13);
  auto peft = inject_lora(tiny_model("bert"), light_peft_lora_config());
  perturb_lora(peft);
  peft.model->eval();
  torch::NoGradGuard no_grad;
  auto in = random_inputs();
  // Masking heads 0, 2 of layer 0 and neurons of layer 1 equals removing them.
  std::vector<LayerMasks> masks(2);
  masks[0].head = at::ones({1, 3, 1, 1});
  masks[0].head.index_put_({0, 1, 0, 0}, 0.0);
  masks[1].neuron = at::ones({1, 20});
  std::vector<int64_t> keep;
  for (int64_t i = 0; i < 20; ++i)
    if (i % 3 != 0) keep.push_back(i);
    else masks[1].neuron.index_put_({0, i}, 0.0);
  auto masked = peft.forward(in, masks).logits;
  peft.model->layer(0).keep_attention_units({0, 2});
  peft.model->layer(1).keep_mlp_neurons(keep);
  peft.model->sync_config_with_modules();
  EXPECT_EQ(peft.model->config().attention_units_per_layer, (std::vector<int64_t>{2, 3}));
  auto q = peft.lora("bert.encoder.layer.0.attention.self.query");
  EXPECT_EQ(q->lora_B->weight.size(0), 16);
  EXPECT_EQ(peft.lora("bert.encoder.layer.0.attention.output.dense")->lora_A->weight.size(1), 16);
  EXPECT_EQ(peft.lora("bert.encoder.layer.1.output.dense")->lora_A->weight.size(1),
            static_cast<int64_t>(keep.size()));
  EXPECT_LT(max_abs_diff(peft.forward(in).logits, masked), 1e-5);
}

TEST(Inject, UnloadRestoresTheBaseComputation) {
  torch::manual_seed(14);
  auto model = tiny_model("bert");
  model->eval();
  torch::NoGradGuard no_grad;
  auto in = random_inputs();
  auto base = model->forward(in).logits;
  auto peft = inject_adapters(model, houlsby_adapter_config());
  // Both projections large: with N(0, 0.02) down-projections the adapters' effect on the logits
  // can fall below any fixed threshold, which would make this check meaningless.
  for (auto& kv : peft.layers) {
    kv.second->rank_factor_in().normal_(0.0, 0.5);
    kv.second->rank_factor_out().normal_(0.0, 0.5);
  }
  EXPECT_GT(max_abs_diff(peft.forward(in).logits, base), 1e-4);
  unload(peft);
  EXPECT_TRUE(peft.layers.empty());
  EXPECT_TRUE(at::equal(model->forward(in).logits, base));
  auto lora = inject_lora(model, light_peft_lora_config());  // a plain model again
  perturb_lora(lora);
  merge_lora(lora);
  unload(lora);  // unmerges first
  EXPECT_LT(max_abs_diff(model->forward(in).logits, base), 1e-5);
}

TEST(InjectAdapters, HoulsbyAndPfeifferPlacements) {
  auto houlsby = inject_adapters(tiny_model("bert"), houlsby_adapter_config());
  EXPECT_EQ(houlsby.injected_paths(),
            (std::vector<std::string>{"bert.encoder.layer.0.attention.output.dense",
                                      "bert.encoder.layer.0.output.dense",
                                      "bert.encoder.layer.1.attention.output.dense",
                                      "bert.encoder.layer.1.output.dense"}));
  auto pfeiffer = inject_adapters(tiny_model("roberta"), pfeiffer_adapter_config());
  EXPECT_EQ(pfeiffer.injected_paths(),
            (std::vector<std::string>{"roberta.encoder.layer.0.output.dense",
                                      "roberta.encoder.layer.1.output.dense"}));
  for (const auto& p : pfeiffer.model->named_parameters())
    EXPECT_EQ(p.value().requires_grad(), p.key().find("adapter_") != std::string::npos ||
                                             p.key().rfind("classifier.", 0) == 0)
        << p.key();
  EXPECT_THROW(merge_and_unload(pfeiffer), Error);
}

}  // namespace
}  // namespace lightpeft
