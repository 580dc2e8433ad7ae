// The whole pipeline on a decoder: `lightpeft train` with Light-PEFT on a tiny random-init LLaMA
// (grouped-query attention) with a sequence-classification head ("score" on the last token),
// LoRA on every linear of its layers; then eval, predict and export --merge of the run. The same
// stages as for encoders, through the family's interfaces.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/pruning/pruning_plan.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using testing::contains;

TEST(DecoderRun, LightPeftOnATinyLlamaThenEvalPredictAndExport) {
  testing::TempDir root;
  testing::make_tiny_model(root / "model", "llama");
  testing::write_tiny_task(root / "train.csv", 40, 0);
  testing::write_tiny_task(root / "dev.csv", 16, 1);
  testing::write_tiny_task(root / "test.csv", 12, 0, /*labelled=*/false);
  const fs::path out = root / "run";
  std::string yaml = testing::tiny_config_yaml(root.path(), "light-peft", out);
  testing::write_file(root / "cfg.yaml", yaml);
  const auto cfg = (root / "cfg.yaml").string();

  auto train = testing::run_cli("train --config " + cfg + " --set lora.target_modules=all-linear"
                                " --set light_peft.head_pruning_ratio=0.5");
  ASSERT_EQ(train.code, 0) << train.output;
  EXPECT_TRUE(contains(train.output, "RANDOM-INIT")) << train.output;
  const json results = json::parse(testing::read_file(out / "results.json"));
  EXPECT_EQ(results.at("method"), "light-peft");
  EXPECT_TRUE(results.at("dev").contains("accuracy"));
  // The plan pruned whole KV groups: 2 per layer before, fewer after; the pruned config says so.
  const PruningPlan plan = load_pruning_plan(out / "prune" / kPruningPlanFile);
  ASSERT_EQ(plan.layers.size(), 2u);
  EXPECT_EQ(plan.heads_before(), 4);
  EXPECT_LT(plan.heads_after(), 4);
  const json pruned = json::parse(testing::read_file(out / "prune" / "pruned_config.json"));
  EXPECT_TRUE(pruned.contains("num_key_value_heads_per_layer")) << pruned.dump();
  // LoRA on the seven linears of every layer (q/k/v/o, gate/up/down), HF PEFT's files.
  const json adapter = json::parse(testing::read_file(out / "finetune" / "final" / "adapter_config.json"));
  EXPECT_EQ(adapter.at("task_type"), "SEQ_CLS");
  EXPECT_TRUE(contains(adapter.dump(), "score")) << "the head is saved with the adapter: " << adapter.dump();

  auto eval = testing::run_cli("eval --config " + cfg);
  ASSERT_EQ(eval.code, 0) << eval.output;
  const json evaluated = json::parse(testing::read_file(out / "eval_results.json"));
  EXPECT_DOUBLE_EQ(evaluated.at("headline_value").get<double>(), results.at("headline_value").get<double>());

  auto predict = testing::run_cli("predict --config " + cfg + " --out " + (root / "pred.tsv").string());
  ASSERT_EQ(predict.code, 0) << predict.output;
  EXPECT_TRUE(contains(testing::read_file(root / "pred.tsv"), "index\tprediction\n"));

  auto exported = testing::run_cli("export --run " + out.string() + " --merge --format compact --out " +
                                   (root / "merged").string());
  ASSERT_EQ(exported.code, 0) << exported.output;
  PretrainedOptions options;
  options.strict = true;
  auto merged = load_pretrained(root / "merged", options);  // per-layer KV groups from config.json
  EXPECT_EQ(merged.model->config().model_type, "llama");
  EXPECT_TRUE(merged.model->config().is_pruned());
  // The default format (hf) has HF's shapes (tests/train/test_export.cpp checks it in HF).
  auto hf = testing::run_cli("export --run " + out.string() + " --merge --out " + (root / "hf").string());
  ASSERT_EQ(hf.code, 0) << hf.output;
  EXPECT_FALSE(load_pretrained(root / "hf", options).model->config().is_pruned());
}

// A tokenizer with more tokens than the model's embedding has rows: refused before training, with
// the model folder named (instead of an index error in the first forward).
TEST(DecoderRun, ATokenizerLargerThanTheEmbeddingIsRefused) {
  testing::TempDir root;
  testing::make_tiny_model(root / "model", "llama");
  auto config = testing::read_file(root / "model" / "config.json");
  const auto at = config.find("\"vocab_size\": 21");
  ASSERT_NE(at, std::string::npos) << config;
  config.replace(at, std::string("\"vocab_size\": 21").size(), "\"vocab_size\": 12");
  testing::write_file(root / "model" / "config.json", config);
  testing::write_tiny_task(root / "train.csv", 8, 0);
  testing::write_tiny_task(root / "dev.csv", 4, 1);
  testing::write_file(root / "cfg.yaml", testing::tiny_config_yaml(root.path(), "lora", root / "run"));
  auto r = testing::run_cli("train --config " + (root / "cfg.yaml").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "the tokenizer has 21 tokens but the model's embedding has 12 rows")) << r.output;
}

}  // namespace
}  // namespace lightpeft
