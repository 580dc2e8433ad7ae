// Key matching of checkpoints: legacy names, base-model prefixes, strict and non-strict reports.
#include <gtest/gtest.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/zeros.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/bert.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "test_support.h"

namespace lightpeft {
namespace {

ModelConfig small() {
  ModelConfig c;
  c.vocab_size = 20;
  c.hidden_size = 8;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.intermediate_size = 6;
  c.attention_units_per_layer = {2};
  c.intermediate_per_layer = {6};
  c.max_position_embeddings = 16;
  return c;
}

TEST(CheckpointKeys, LegacyGammaBetaAndBarePrefixLoad) {
  auto model = make_task_model(small(), HeadKind::sequence_classification);
  StateDict ckpt;
  ckpt["embeddings.LayerNorm.gamma"] = at::ones({8}) * 3;  // bare BertModel, TF-era names
  ckpt["embeddings.LayerNorm.beta"] = at::ones({8}) * 2;
  ckpt["embeddings.position_ids"] = at::zeros({1, 16}, at::kLong);
  ckpt["cls.predictions.bias"] = at::zeros({20});
  auto report = load_weights(*model, ckpt, "bert", false, "ckpt");
  EXPECT_EQ(report.loaded, 2);
  EXPECT_EQ(report.ignored, std::vector<std::string>{"embeddings.position_ids"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"cls.predictions.bias"});
  EXPECT_FALSE(report.missing.empty());
  auto sd = module_state_dict(*model);
  EXPECT_TRUE(sd.at("bert.embeddings.LayerNorm.weight").eq(3).all().item<bool>());
  EXPECT_TRUE(sd.at("bert.embeddings.LayerNorm.bias").eq(2).all().item<bool>());
}

TEST(CheckpointKeys, FullCheckpointLoadsIntoBareEncoder) {
  auto full = make_task_model(small(), HeadKind::sequence_classification);
  BertModel bare(small(), PositionIds::sequential, true);
  auto report = load_weights(*bare, module_state_dict(*full), "bert", false, "ckpt");
  EXPECT_TRUE(report.missing.empty()) << report.summary();
  EXPECT_EQ(report.unexpected.size(), 2u);  // classifier.weight, classifier.bias
}

TEST(CheckpointKeys, StrictLoadListsMismatchesAndMissingKeys) {
  auto model = make_task_model(small(), HeadKind::sequence_classification);
  StateDict ckpt = module_state_dict(*model);
  ckpt["classifier.weight"] = at::zeros({5, 8});
  ckpt.erase("bert.pooler.dense.bias");
  try {
    load_weights(*model, ckpt, "bert", /*strict=*/true, "my.safetensors");
    FAIL() << "strict load should throw";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("my.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("classifier.weight [5, 8] vs [2, 8]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("bert.pooler.dense.bias"), std::string::npos) << msg;
  }
}

TEST(CheckpointKeys, NumLabelsOverrideReinitialisesTheHead) {
  testing::TempDir dir;
  save_pretrained(*make_task_model(small(), HeadKind::sequence_classification), dir.path());
  auto loaded = load_pretrained(dir.path(), {HeadKind::sequence_classification, 3});
  EXPECT_EQ(loaded.model->config().num_labels, 3);
  EXPECT_EQ(loaded.report.mismatched.size(), 2u) << loaded.report.summary();
  auto regression = load_pretrained(dir.path(), {HeadKind::sequence_classification, 1});
  EXPECT_EQ(regression.model->config().problem_type, ProblemType::regression);
}

TEST(CheckpointKeys, MissingWeightsIsAClearError) {
  testing::TempDir dir;
  save_model_config(small(), dir / "config.json");
  try {
    load_pretrained(dir.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no weights found"), std::string::npos) << e.what();
  }
}

TEST(CheckpointKeys, ShardedIndexIsReadShardByShard) {
  testing::TempDir dir;
  auto model = make_task_model(small(), HeadKind::sequence_classification);
  save_model_config(model->config(), dir / "config.json");
  StateDict a, b;
  std::string map = "{\"weight_map\": {";
  bool first = true;
  int i = 0;
  for (const auto& [k, v] : module_state_dict(*model)) {
    const bool second = (i++ % 2) == 1;
    const char* shard = second ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
    (second ? b : a)[k] = v.detach();
    map += std::string(first ? "" : ",") + "\"" + k + "\": \"" + shard + "\"";
    first = false;
  }
  map += "}}";
  save_safetensors(dir / "model-00001-of-00002.safetensors", a);
  save_safetensors(dir / "model-00002-of-00002.safetensors", b);
  testing::write_file(dir / "model.safetensors.index.json", map);
  auto loaded = load_pretrained(dir.path(), {HeadKind::sequence_classification, 0, true});
  EXPECT_TRUE(loaded.report.clean());
}

}  // namespace
}  // namespace lightpeft
