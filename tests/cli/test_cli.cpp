// The `lightpeft` executable as a user runs it: subcommands listed, init-model -> info round trip,
// clear errors for bad input.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lightpeft/io/safetensors.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

using testing::contains;
using testing::run_cli;

TEST(Cli, HelpListsSubcommands) {
  auto r = run_cli("--help");
  EXPECT_EQ(r.code, 0) << r.output;
  for (const char* sub : {"train", "eval", "predict", "prune", "export", "info", "init-model"})
    EXPECT_TRUE(contains(r.output, sub)) << r.output;
}

// The hidden maintainer's subcommand prints the generated configuration reference (not in --help).
TEST(Cli, ConfigDocPrintsTheCommittedReference) {
  auto r = run_cli("config-doc");
  EXPECT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output, testing::read_file(testing::source_dir() / "docs/configuration.md"))
      << "regenerate: ./build/bin/lightpeft config-doc > docs/configuration.md";
  EXPECT_FALSE(contains(run_cli("--help").output, "config-doc"));
}

TEST(Cli, InitModelWritesAModelThatLoadsBackBitExactly) {
  LP_REQUIRE_SHARED(shared);
  testing::TempDir dir;
  auto src = shared / "models/google-bert-uncased-L-4_H-256_A-4-config-vocab-only";
  auto out = dir / "mini";
  auto r = run_cli("init-model --arch bert --config " + (src / "bert_config.json").string() +
               " --vocab " + (src / "vocab.txt").string() + " --seed 7 --num-labels 3 --out " +
               out.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "random init")) << r.output;
  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"})
    EXPECT_TRUE(std::filesystem::exists(out / f)) << f;

  // The files load back strictly and carry exactly the tensors written.
  auto loaded = load_pretrained(out, {HeadKind::sequence_classification, 0, true});
  EXPECT_EQ(loaded.model->config().num_labels, 3);
  EXPECT_EQ(loaded.model->config().num_hidden_layers, 4);
  auto on_disk = load_safetensors(out / "model.safetensors");
  auto in_model = module_state_dict(*loaded.model);
  ASSERT_EQ(on_disk.size(), in_model.size());
  for (const auto& [k, v] : on_disk) EXPECT_TRUE(v.equal(in_model.at(k))) << k;

  auto info = run_cli("info " + out.string() + " --strict");
  EXPECT_EQ(info.code, 0) << info.output;
  EXPECT_TRUE(contains(info.output, "RANDOM-INIT")) << info.output;
  EXPECT_TRUE(contains(info.output, "heads:       4 4 4 4")) << info.output;

  // Same seed, same weights: init-model is reproducible.
  auto again = dir / "again";
  ASSERT_EQ(run_cli("init-model --arch bert --config " + (src / "bert_config.json").string() +
                " --vocab " + (src / "vocab.txt").string() + " --seed 7 --num-labels 3 --out " +
                again.string()).code, 0);
  EXPECT_EQ(testing::read_file(out / "model.safetensors"), testing::read_file(again / "model.safetensors"));
}

TEST(Cli, InfoOnAMissingDirectoryIsAClearError) {
  auto r = run_cli("info /nonexistent/model");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "/nonexistent/model")) << r.output;
}

TEST(Cli, InitModelRejectsABadConfig) {
  testing::TempDir dir;
  testing::write_file(dir / "config.json", R"({"model_type": "bert", "vocab_size": 10})");
  testing::write_file(dir / "vocab.txt", "[PAD]\n[UNK]\n");
  auto r = run_cli("init-model --config " + (dir / "config.json").string() + " --vocab " +
               (dir / "vocab.txt").string() + " --out " + (dir / "m").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "config.json: missing key 'hidden_size'")) << r.output;
}

TEST(Cli, UnknownOptionFailsWithUsage) {
  auto r = run_cli("info --bogus x");
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, "bogus")) << r.output;
}

// The config-driven subcommands on a tiny random-init model and a tiny user task: what a user runs.
class CliRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::make_tiny_run_files(root_.path());
    config_ = root_ / "run.yaml";
    testing::write_file(config_, testing::tiny_config_yaml(root_.path(), "light-peft", root_ / "out"));
  }
  std::string cfg() const { return " --config " + config_.string(); }
  testing::TempDir root_;
  std::filesystem::path config_;
};

nlohmann::json read_json(const std::filesystem::path& p) { return nlohmann::json::parse(testing::read_file(p)); }

TEST_F(CliRunTest, PruneThenTrainEvalAndPredict) {
  namespace fs = std::filesystem;
  const fs::path out = root_ / "out";
  // prune: the plan and parameter counts, no fine-tuning.
  auto p = run_cli("prune" + cfg());
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_TRUE(contains(p.output, "plan: ")) << p.output;
  EXPECT_TRUE(contains(p.output, "parameters:   ")) << p.output;
  EXPECT_TRUE(contains(p.output, "RANDOM-INIT")) << p.output;
  EXPECT_TRUE(fs::exists(out / "prune/pruning_plan.json"));
  EXPECT_TRUE(fs::exists(out / "estimate/peft_weights.safetensors"));
  EXPECT_FALSE(fs::exists(out / "finetune"));

  // train goes on from the plan.
  auto t = run_cli("train" + cfg());
  ASSERT_EQ(t.code, 0) << t.output;
  EXPECT_TRUE(contains(t.output, "dev accuracy: ")) << t.output;
  const auto results = read_json(out / "results.json");
  EXPECT_TRUE(results.contains("peak_cpu_rss_bytes"));
  EXPECT_TRUE(results.contains("estimate_seconds"));
  // The executable's own malloc (core/allocator.h), found at run time, with tools/malloc_conf.cpp's
  // settings in force under jemalloc.
  const std::string malloc = results.value("malloc", "");
  EXPECT_EQ(malloc.rfind(LIGHTPEFT_TEST_CLI_MALLOC, 0), 0u) << malloc;
  if (std::string(LIGHTPEFT_TEST_CLI_MALLOC) == "jemalloc")
    EXPECT_TRUE(contains(malloc, "(oversize_threshold 0, dirty_decay_ms -1)")) << malloc;

  // eval reproduces the final dev metrics.
  auto e = run_cli("eval" + cfg());
  ASSERT_EQ(e.code, 0) << e.output;
  const auto evals = read_json(out / "eval_results.json");
  EXPECT_EQ(evals["dev"], results["dev"]);
  EXPECT_EQ(evals["headline_value"], results["headline_value"]);
  EXPECT_TRUE(contains(e.output, "dev accuracy: ")) << e.output;
  EXPECT_EQ(run_cli("eval --checkpoint best" + cfg()).code, 0);
  EXPECT_NE(run_cli("eval --checkpoint middle" + cfg()).code, 0);

  // predict: a header and one valid label per test row.
  auto pr = run_cli("predict" + cfg() + " --out " + (root_ / "test.tsv").string());
  ASSERT_EQ(pr.code, 0) << pr.output;
  EXPECT_TRUE(contains(pr.output, "12 predictions")) << pr.output;
  std::istringstream lines(testing::read_file(root_ / "test.tsv"));
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line, "index\tprediction");
  int rows = 0;
  for (; std::getline(lines, line); ++rows) {
    EXPECT_EQ(line.substr(0, line.find('\t')), std::to_string(rows));
    const std::string label = line.substr(line.find('\t') + 1);
    EXPECT_TRUE(label == "neg" || label == "pos") << line;
  }
  EXPECT_EQ(rows, 12);
}

TEST_F(CliRunTest, SetOverridesTakeEffect) {
  const auto out = root_ / "over";
  auto t = run_cli("train" + cfg() + " --set method=lora --set training.num_train_epochs=1 --set output_dir=" +
               out.string() + " --set lora.target_modules=query,value");
  ASSERT_EQ(t.code, 0) << t.output;
  const auto results = read_json(out / "results.json");
  EXPECT_EQ(results["method"], "lora");
  EXPECT_EQ(results["finetune_steps"], 5);
  const auto adapter = read_json(out / "finetune/final/adapter_config.json");
  EXPECT_EQ(adapter["target_modules"].size(), 2u) << adapter.dump();
  // eval with the same overrides finds that run.
  auto e = run_cli("eval" + cfg() + " --set method=lora --set training.num_train_epochs=1 --set output_dir=" +
               out.string() + " --set lora.target_modules=query,value");
  EXPECT_EQ(e.code, 0) << e.output;
}

TEST_F(CliRunTest, BadOverridesAreClearErrors) {
  auto r = run_cli("train" + cfg() + " --set training.lerning_rate=1e-3");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--set training.lerning_rate: unknown key 'training.lerning_rate' (did you mean "
                            "'learning_rate'?)")) << r.output;
  r = run_cli("prune" + cfg() + " --set light_peft.estimate_steps=none");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--set light_peft.estimate_steps: key 'light_peft.estimate_steps': expected a integer"))
      << r.output;
  r = run_cli("train" + cfg() + " --set nonsense");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "expected key=value")) << r.output;
  EXPECT_FALSE(std::filesystem::exists(root_ / "out"));  // validated before any work
  // A config with a typo: file, line, key and the suggestion.
  testing::write_file(root_ / "typo.yaml", testing::read_file(config_) + "light_peft_:\n  l1_lambda: 0.1\n");
  r = run_cli("train --config " + (root_ / "typo.yaml").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "typo.yaml:")) << r.output;
  EXPECT_TRUE(contains(r.output, "unknown key 'light_peft_' (did you mean 'light_peft'?)")) << r.output;
}

TEST_F(CliRunTest, PruneRefusesOtherMethodsAndEvalNeedsARun) {
  auto r = run_cli("prune" + cfg() + " --set method=lora");
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "prune runs the estimate and prune stages of method light-peft")) << r.output;
  r = run_cli("eval" + cfg());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "holds no finished run")) << r.output;
  r = run_cli("predict" + cfg());
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, "--out")) << r.output;
}

// LIGHTPEFT_KERNELS is read when the run starts, also on the CPU where it changes nothing, so a typo
// is an error naming the variable before any data is read or output written.
TEST_F(CliRunTest, BadKernelsVariableFailsBeforeTheRunStarts) {
  ASSERT_EQ(setenv("LIGHTPEFT_KERNELS", "fast", 1), 0);
  auto r = run_cli("train" + cfg());
  unsetenv("LIGHTPEFT_KERNELS");
  EXPECT_NE(r.code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "environment variable LIGHTPEFT_KERNELS: expected 'reference' or 'fused', got 'fast'"))
      << r.output;
  EXPECT_FALSE(std::filesystem::exists(root_ / "out" / "results.json"));
  EXPECT_FALSE(std::filesystem::exists(root_ / "out" / "estimate"));
}

}  // namespace
}  // namespace lightpeft
