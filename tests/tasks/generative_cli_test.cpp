// `lightpeft train` and `predict` end to end on a tiny random-init llama (byte tokenizer): task
// instruction (Alpaca rows, packing; chat rows) and an LLM-Adapters commonsense set with
// light-peft; task errors from the files (a row without output, an unknown role) and the config (a
// template without its placeholder) naming the file and the row or key. Also an encoder on a
// commonsense set (multiple choice).
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tasks_test_util.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::contains;

std::string alpaca_rows(int n, int offset) {
  json rows = json::array();
  const char* words[] = {"red", "green", "blue", "gold"};
  for (int i = 0; i < n; ++i) {
    const std::string w = words[(i + offset) % 4];
    rows.push_back({{"instruction", "Repeat the colour."}, {"input", i % 2 ? w : ""}, {"output", w + " " + w}});
  }
  return rows.dump(1);
}

std::vector<json> jsonl(const fs::path& file) {
  std::vector<json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

std::string instruction_config(const fs::path& root, const std::string& instruction_section) {
  return "task: instruction\nmodel: " + (root / "model").string() + "\noutput_dir: " + (root / "out").string() +
         "\nmethod: lora\nseed: 3\nmax_seq_length: 128\n"
         "training:\n  per_device_train_batch_size: 4\n  per_device_eval_batch_size: 4\n  num_train_epochs: 1\n"
         "  learning_rate: 0.01\n  logging_steps: 1\n"
         "lora:\n  r: 4\n  target_modules: [all-linear]\n"
         "instruction:\n" + instruction_section;
}

TEST(GenerativeCli, InstructionTrainAndPredictWithPacking) {
  testing::TempDir root;
  testing::make_tiny_llama(root / "model");
  testing::write_file(root / "train.json", alpaca_rows(24, 0));
  testing::write_file(root / "dev.json", alpaca_rows(6, 1));
  testing::write_file(root / "test.json", alpaca_rows(3, 2));
  testing::write_file(root / "config.yaml",
                      instruction_config(root.path(), "  train_file: " + (root / "train.json").string() +
                                                          "\n  dev_file: " + (root / "dev.json").string() +
                                                          "\n  test_file: " + (root / "test.json").string() +
                                                          "\n  format: custom\n  template: \"Q: {instruction} {input}\\nA: {output}\"" +
                                                          "\n  packing: true\n  max_new_tokens: 6\n"));
  auto r = testing::run_cli("train --config " + (root / "config.yaml").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const json results = json::parse(testing::read_file(root / "out" / "results.json"));
  EXPECT_EQ(results["task"], "instruction");
  EXPECT_EQ(results["headline_metric"], "negative_loss");
  EXPECT_NEAR(results["dev"]["perplexity"].get<double>(), std::exp(-results["headline_value"].get<double>()), 1e-9);
  EXPECT_NEAR(results["dev_loss"].get<double>(), -results["headline_value"].get<double>(), 1e-12);
  EXPECT_TRUE(contains(testing::read_file(root / "out" / "metrics.jsonl"), "eval_perplexity"));
  // Rows of 34 to 45 tokens, packed into 128-token sequences.
  EXPECT_TRUE(contains(r.output, "packing: 24 rows into ")) << r.output;
  EXPECT_FALSE(contains(r.output, "packing: 24 rows into 24 ")) << r.output;
  r = testing::run_cli("predict --config " + (root / "config.yaml").string() + " --out " + (root / "pred.jsonl").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const auto rows = jsonl(root / "pred.jsonl");
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& row : rows) {
    EXPECT_TRUE(row.contains("response"));
    EXPECT_TRUE(row.contains("reference"));
  }
  EXPECT_EQ(rows[2]["index"], 2);
}

TEST(GenerativeCli, ChatRowsAndTheirErrors) {
  testing::TempDir root;
  testing::make_tiny_llama(root / "model");
  const std::string chat = R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}, )"
                           R"({"role": "user", "content": "bye"}, {"role": "assistant", "content": "ciao"}]})";
  std::string train;
  for (int i = 0; i < 8; ++i) train += chat + "\n";
  testing::write_file(root / "train.jsonl", train);
  testing::write_file(root / "dev.jsonl", chat + "\n");
  const std::string files = "  train_file: " + (root / "train.jsonl").string() + "\n  dev_file: " +
                            (root / "dev.jsonl").string() + "\n  format: chat\n  all_assistant_turns: true\n";
  testing::write_file(root / "config.yaml", instruction_config(root.path(), files));
  auto r = testing::run_cli("train --config " + (root / "config.yaml").string());
  ASSERT_EQ(r.code, 0) << r.output;
  // An unknown role: the file and the line.
  testing::write_file(root / "dev.jsonl", R"({"messages": [{"role": "robot", "content": "x"}]})" "\n");
  r = testing::run_cli("train --config " + (root / "config.yaml").string() + " --overwrite");
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, (root / "dev.jsonl").string() + ":1")) << r.output;
  EXPECT_TRUE(contains(r.output, "unknown role 'robot'")) << r.output;
}

TEST(GenerativeCli, BadRowsAndTemplatesAreNamed) {
  testing::TempDir root;
  testing::make_tiny_llama(root / "model");
  testing::write_file(root / "train.json", R"([{"instruction": "a", "output": "b"}, {"instruction": "c", "input": ""}])");
  testing::write_file(root / "dev.json", alpaca_rows(2, 0));
  const std::string files =
      "  train_file: " + (root / "train.json").string() + "\n  dev_file: " + (root / "dev.json").string() + "\n";
  testing::write_file(root / "config.yaml", instruction_config(root.path(), files));
  auto r = testing::run_cli("train --config " + (root / "config.yaml").string());
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, (root / "train.json").string() + ": row 1: missing 'output'")) << r.output;
  // A custom template without {instruction}: the config's key.
  testing::write_file(root / "config.yaml",
                      instruction_config(root.path(), files + "  format: custom\n  template: \"Q: {input}\\nA: {output}\"\n"));
  r = testing::run_cli("train --config " + (root / "config.yaml").string());
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, "instruction.template")) << r.output;
  EXPECT_TRUE(contains(r.output, "no {instruction} placeholder")) << r.output;
  // A chat-only key with the alpaca format is refused, not ignored.
  testing::write_file(root / "config.yaml", instruction_config(root.path(), files + "  all_assistant_turns: true\n"));
  r = testing::run_cli("train --config " + (root / "config.yaml").string());
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, "format: chat only")) << r.output;
}

std::string arc_rows(int n, int offset) {
  json rows = json::array();
  for (int i = 0; i < n; ++i) {
    const int k = (i + offset) % 3;
    const int choices = i % 5 == 4 ? 3 : 4;
    std::string ins = "Please choose the correct answer to the question: Which is colour " + std::to_string(k) + "?\n\n";
    std::string format;
    for (int c = 1; c <= choices; ++c) {
      ins += std::string(c > 1 ? " " : "") + "Answer" + std::to_string(c) + ": " + (c == k + 1 ? "red" : "stone");
      format += std::string(c > 1 ? "/" : "") + "answer" + std::to_string(c);
    }
    ins += "\n\nAnswer format: " + format;
    const std::string answer = "answer" + std::to_string(k + 1);
    rows.push_back({{"instruction", ins}, {"input", ""}, {"output", "the correct answer is " + answer}, {"answer", answer}});
  }
  return rows.dump(1);
}

TEST(GenerativeCli, CommonsenseDecoderLightPeftBothEvaluations) {
  testing::TempDir root;
  testing::make_tiny_llama(root / "model");
  fs::create_directories(root / "data" / "ARC-Easy");
  testing::write_file(root / "data" / "ARC-Easy" / "train.json", arc_rows(16, 0));
  testing::write_file(root / "data" / "ARC-Easy" / "test.json", arc_rows(10, 1));
  testing::write_file(root / "config.yaml",
                      "task: arc_easy\ndata_dir: " + (root / "data").string() + "\nmodel: " + (root / "model").string() +
                          "\noutput_dir: " + (root / "out").string() +
                          "\nmethod: light-peft\nmax_seq_length: 160\n"
                          "training:\n  per_device_train_batch_size: 4\n  per_device_eval_batch_size: 4\n"
                          "  num_train_epochs: 1\n  learning_rate: 0.01\n  logging_steps: 1\n"
                          "lora:\n  r: 4\n  target_modules: [all-linear]\n"
                          "light_peft:\n  estimate_steps: 2\n  module_pruning_ratio: 0.5\n"
                          "commonsense:\n  max_new_tokens: 4\n");
  auto r = testing::run_cli("train --config " + (root / "config.yaml").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const json results = json::parse(testing::read_file(root / "out" / "results.json"));
  EXPECT_EQ(results["headline_metric"], "accuracy");
  for (const char* k : {"accuracy", "accuracy_norm", "generation_accuracy", "generation_no_answer"})
    EXPECT_TRUE(results["dev"].contains(k)) << k << ": " << results.dump();
  r = testing::run_cli("predict --config " + (root / "config.yaml").string() + " --out " + (root / "pred.jsonl").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const auto rows = jsonl(root / "pred.jsonl");
  ASSERT_EQ(rows.size(), 10u);
  EXPECT_EQ(rows[4]["loglikelihoods"].size(), 3u);  // a 3-choice question
  EXPECT_TRUE(rows[0].contains("generated"));
  EXPECT_EQ(rows[0]["set"], "arc_easy");
  EXPECT_TRUE(contains(r.output, "accuracy")) << r.output;
}

// `eval --checkpoint base`: the pretrained decoder as it is (zero-shot). A LoRA run whose steps
// cannot move the weights (learning rate 1e-12, B starts at zero) must score exactly as the base
// model; an encoder's multiple-choice head has no pretrained weights, so base is refused.
TEST(GenerativeCli, ZeroShotEvalOfTheBaseModel) {
  testing::TempDir root;
  testing::make_tiny_llama(root / "model");
  fs::create_directories(root / "data" / "ARC-Easy");
  testing::write_file(root / "data" / "ARC-Easy" / "train.json", arc_rows(8, 0));
  testing::write_file(root / "data" / "ARC-Easy" / "test.json", arc_rows(10, 1));
  auto config = [&](const fs::path& model, const std::string& out) {
    return "task: arc_easy\ndata_dir: " + (root / "data").string() + "\nmodel: " + model.string() +
           "\noutput_dir: " + (root / out).string() +
           "\nmethod: lora\nmax_seq_length: 160\n"
           "training:\n  per_device_train_batch_size: 4\n  per_device_eval_batch_size: 4\n"
           "  num_train_epochs: 1\n  learning_rate: 1.0e-12\n  logging_steps: 1\n"
           "lora:\n  r: 4\n  target_modules: [all-linear]\ncommonsense:\n  generation_eval: false\n";
  };
  testing::write_file(root / "lora.yaml", config(root / "model", "lora"));
  auto r = testing::run_cli("train --config " + (root / "lora.yaml").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const json trained = json::parse(testing::read_file(root / "lora" / "results.json"));

  testing::write_file(root / "base.yaml", config(root / "model", "base"));
  r = testing::run_cli("eval --checkpoint base --config " + (root / "base.yaml").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const json base = json::parse(testing::read_file(root / "base" / "eval_results.json"));
  EXPECT_EQ(base["checkpoint"], "base");
  EXPECT_EQ(base["examples"], 10);
  EXPECT_EQ(base["dev"]["accuracy"], trained["dev"]["accuracy"]) << base.dump() << "\n" << trained.dump();
  EXPECT_EQ(base["dev"]["accuracy_norm"], trained["dev"]["accuracy_norm"]);
  EXPECT_NEAR(base["dev_loss"].get<double>(), trained["dev_loss"].get<double>(), 1e-5);
  EXPECT_FALSE(fs::exists(root / "base" / "finetune"));  // nothing trained, nothing saved

  testing::make_tiny_model(root / "bert");
  testing::write_file(root / "bert.yaml", config(root / "bert", "bert"));
  r = testing::run_cli("eval --checkpoint base --config " + (root / "bert.yaml").string());
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "bert.yaml: task arc_easy: --checkpoint base evaluates the pretrained model without "
                                 "training, which only a causal LM head can be (a multiple_choice head would be random)"))
      << r.output;
}

TEST(GenerativeCli, CommonsenseEncoderMultipleChoice) {
  testing::TempDir root;
  testing::make_tiny_model(root / "model");  // a tiny BERT: multiple choice head
  fs::create_directories(root / "data" / "ARC-Easy");
  testing::write_file(root / "data" / "ARC-Easy" / "train.json", arc_rows(16, 0));
  testing::write_file(root / "data" / "ARC-Easy" / "test.json", arc_rows(10, 1));
  testing::write_file(root / "config.yaml",
                      "task: arc_easy\ndata_dir: " + (root / "data").string() + "\nmodel: " + (root / "model").string() +
                          "\noutput_dir: " + (root / "out").string() +
                          "\nmethod: light-peft\nmax_seq_length: 32\n"
                          "training:\n  per_device_train_batch_size: 4\n  num_train_epochs: 1\n  logging_steps: 1\n"
                          "lora:\n  r: 4\nlight_peft:\n  estimate_steps: 2\n");
  auto r = testing::run_cli("train --config " + (root / "config.yaml").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const json results = json::parse(testing::read_file(root / "out" / "results.json"));
  EXPECT_EQ(results["headline_metric"], "accuracy");
  r = testing::run_cli("predict --config " + (root / "config.yaml").string() + " --out " + (root / "pred.tsv").string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_TRUE(contains(testing::read_file(root / "pred.tsv"), "\tanswer")) << testing::read_file(root / "pred.tsv");
}

}  // namespace
}  // namespace lightpeft
