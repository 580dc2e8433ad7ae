// The extractive QA task: its loss (HF's ...ForQuestionAnswering), answers picked per question over
// its windows with SQuAD's metrics and prediction files, config errors, and `lightpeft train` /
// `eval` / `predict` end to end on tiny generated SQuAD files with a tiny random-init BERT.
#include <cstdlib>
#include <random>
#include <sstream>

#include <ATen/ops/log_softmax.h>
#include <ATen/ops/randn.h>
#include <ATen/ops/tensor.h>
#include <ATen/ops/zeros.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lightpeft/core/error.h"
#include "lightpeft/io/safetensors.h"
#include "lightpeft/tasks/registry.h"
#include "lightpeft/train/train_config.h"
#include "test_support.h"
#include "tiny_run.h"

namespace lightpeft {
namespace {

using json = nlohmann::json;
using testing::contains;
using testing::run_cli;
using testing::TempDir;
namespace fs = std::filesystem;

std::unique_ptr<Task> squad_task(bool v2) {
  SquadTaskFiles files;
  files.options.doc_stride = 2;
  TaskOptions options;
  options.squad = files;
  return make_task(v2 ? "squad_v2" : "squad", "", options);
}

TEST(ExtractiveQa, TaskShape) {
  const auto task = squad_task(false);
  EXPECT_EQ(task->name(), "squad");
  EXPECT_EQ(task->head(), HeadKind::question_answering);
  EXPECT_EQ(task->num_labels(), 2);
  EXPECT_TRUE(task->keeps_eval_predictions());
  EXPECT_EQ(squad_task(true)->name(), "squad_v2");
  EXPECT_THROW(make_task("squad", ""), Error);
}

TEST(ExtractiveQa, LossIsTheMeanOfStartAndEndCrossEntropy) {
  const auto task = squad_task(false);
  at::manual_seed(1);
  ModelOutput out;
  out.logits = at::randn({3, 6, 2});
  Batch batch;
  batch.label_positions = at::tensor(std::vector<int64_t>{1, 3, 0, 0, 5, 5}).reshape({3, 2});
  const at::Tensor loss = task->loss(out, batch);
  double expected = 0;
  const auto ls = at::log_softmax(out.logits, 1);  // over the positions
  const int64_t pos[3][2] = {{1, 3}, {0, 0}, {5, 5}};
  for (int64_t b = 0; b < 3; ++b)
    expected -= (ls[b][pos[b][0]][0].item<double>() + ls[b][pos[b][1]][1].item<double>()) / 2;
  EXPECT_NEAR(loss.item<double>(), expected / 3, 1e-6);
}

// [CLS] who ? [SEP] context [SEP] with one-token words a0..a29.
std::unique_ptr<Tokenizer> word_tokenizer(const TempDir& dir) {
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nwho\n?\n";
  for (int i = 0; i < 30; ++i) vocab += "a" + std::to_string(i) + "\n";
  testing::write_file(dir / "vocab.txt", vocab);
  return load_tokenizer(dir / "vocab.txt");
}

std::string words(int from, int to) {
  std::string s;
  for (int i = from; i < to; ++i) s += (i > from ? " a" : "a") + std::to_string(i);
  return s;
}

Example question(const std::string& id, const std::string& context, std::vector<std::string> answers) {
  Example e;
  e.id = id;
  e.text = "who ?";
  e.text_pair = context;
  e.has_label = true;
  for (const auto& a : answers) e.answers.push_back({a, static_cast<int64_t>(context.find(a))});
  return e;
}

// Logits that make each window of `split` point at (start, end) (or at CLS for a window not listed).
ModelOutput pointing(const EncodedSplit& split, const std::vector<int64_t>& items,
                     const std::map<int64_t, std::pair<int64_t, int64_t>>& spans, float cls = 0) {
  int64_t width = 0;
  for (int64_t i : items) width = std::max<int64_t>(width, split.examples[i].input_ids.size());
  ModelOutput out;
  out.logits = at::zeros({static_cast<int64_t>(items.size()), width, 2});
  for (int64_t r = 0; r < static_cast<int64_t>(items.size()); ++r) {
    out.logits[r][0][0] = cls;
    out.logits[r][0][1] = cls;
    if (auto it = spans.find(items[static_cast<size_t>(r)]); it != spans.end()) {
      out.logits[r][it->second.first][0] = 5;
      out.logits[r][it->second.second][1] = 5;
    }
  }
  return out;
}

TEST(ExtractiveQa, AnswersArePickedPerQuestionOverItsWindows) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const auto task = squad_task(false);
  // max_length 11: 6 context tokens per window, doc_stride 2: q1 has windows [0,6) [4,10) [8,14).
  const std::vector<Example> rows = {question("q1", words(0, 14), {"a9 a10", "a10"}), question("q2", words(0, 3), {"a1"})};
  const EncodedSplit split = task->encode(rows, *tok, 11);
  ASSERT_EQ(split.examples.size(), 4u);
  EXPECT_EQ(split.windows[3].example, 1);
  EXPECT_EQ(split.examples[2].label_positions, (std::vector<int64_t>{4 + 1, 4 + 2}));  // a9 a10 in [8,14)
  auto predictions = task->start_predictions(split);
  // Batches in any order: q1's third window points at a9..a10, q2's at a2 (wrong).
  Batch b1;
  b1.indices = {2, 3};
  predictions->add(pointing(split, b1.indices, {{2, {5, 6}}, {3, {6, 6}}}), b1);
  Batch b2;
  b2.indices = {0, 1};
  predictions->add(pointing(split, b2.indices, {}), b2);
  const MetricResult m = predictions->metrics();
  EXPECT_EQ(m.headline, "f1");
  EXPECT_DOUBLE_EQ(m.values.at("exact_match"), 50.0);
  EXPECT_DOUBLE_EQ(m.values.at("f1"), 50.0);
  const PredictionFiles files = predictions->files(rows);
  ASSERT_EQ(files.files.size(), 1u);
  EXPECT_EQ(files.files[0].first, "predictions.json");
  EXPECT_EQ(json::parse(files.files[0].second), (json{{"q1", "a9 a10"}, {"q2", "a2"}}));
  EXPECT_EQ(files.files[0].second.rfind("{\n    \"q1\": \"a9 a10\",", 0), 0u);  // HF's json.dumps(indent=4), file order
}

TEST(ExtractiveQa, V2AnswersNothingWhenTheNullScoreWins) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const auto task = squad_task(true);
  std::vector<Example> rows = {question("h", words(0, 4), {"a1"}), question("n", words(0, 4), {})};
  const EncodedSplit split = task->encode(rows, *tok, 11);
  ASSERT_EQ(split.examples.size(), 2u);
  EXPECT_EQ(split.examples[1].label_positions, (std::vector<int64_t>{0, 0}));
  auto predictions = task->start_predictions(split);
  Batch b;
  b.indices = {0, 1};
  // Both windows: span a1 scores 10; CLS scores 2 + 2 (h) -> a1; for n the CLS scores 6 + 6 -> no answer.
  ModelOutput out = pointing(split, b.indices, {{0, {5, 5}}, {1, {5, 5}}}, 2);
  out.logits[1][0][0] = 6;
  out.logits[1][0][1] = 6;
  predictions->add(out, b);
  const MetricResult m = predictions->metrics();
  EXPECT_DOUBLE_EQ(m.values.at("exact_match"), 100.0);
  EXPECT_DOUBLE_EQ(m.values.at("HasAns_total"), 1);
  EXPECT_DOUBLE_EQ(m.values.at("NoAns_exact"), 100.0);
  const PredictionFiles files = predictions->files(rows);
  ASSERT_EQ(files.files.size(), 2u);
  EXPECT_EQ(json::parse(files.files[0].second), (json{{"h", "a1"}, {"n", ""}}));
  EXPECT_EQ(files.files[1].first, "null_odds.json");
  EXPECT_EQ(json::parse(files.files[1].second), (json{{"h", 4.0 - 10.0}, {"n", 12.0 - 10.0}}));
}

TEST(ExtractiveQa, ConfigNeedsTheSquadSection) {
  auto error_of = [](const std::string& yaml) {
    try {
      parse_train_config(yaml, "qa.yaml");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string base = "model: m\noutput_dir: o\nmax_seq_length: 384\n";
  EXPECT_TRUE(contains(error_of(base + "task: squad\n"), "key 'squad': required for task: squad"));
  const std::string files = "squad:\n  train_file: t.json\n  dev_file: d.json\n";
  EXPECT_EQ(error_of(base + "task: squad\n" + files), "");
  // The default doc_stride (128) needs a longer max_seq_length than the default (128).
  EXPECT_TRUE(contains(error_of("model: m\noutput_dir: o\ntask: squad\n" + files),
                       "key 'squad.doc_stride': expected below max_seq_length (128), got 128 (SQuAD runs set "
                       "max_seq_length: 384, HF run_qa's default)"));
  EXPECT_TRUE(contains(error_of(base + "task: squad_v2\n" + files + "  version_2_with_negative: false\n"),
                       "key 'squad.version_2_with_negative': task squad_v2 is SQuAD v2.0"));
  const TrainConfig v2 = parse_train_config(base + "task: squad_v2\n" + files, "qa.yaml");
  EXPECT_TRUE(v2.squad->version_2_with_negative);
  EXPECT_TRUE(contains(train_config_to_yaml(v2), "version_2_with_negative: true"));
  // Configs without the section write no `squad:` (their config.yaml stays as it was).
  const TrainConfig rte = parse_train_config(base + "task: rte\ndata_dir: d\n", "rte.yaml");
  EXPECT_FALSE(contains(train_config_to_yaml(rte), "squad"));
}

// ---- end to end ----------------------------------------------------------------------------------

// Questions over contexts of the tiny model's words (tiny_run.h): 24-30 words, so that with
// max_seq_length 24 most contexts take two or three windows. Every fourth context has a non-ASCII
// spelling ("fïlm", lower-cased and accent-stripped to film) before its answer; v2 adds
// unanswerable questions.
json squad_file(int questions, int seed, bool v2) {
  const char* words[] = {"good", "great", "fine", "nice", "bad", "awful", "poor", "sad",
                         "movie", "film", "plot", "cast", "really", "very", "the", "a"};
  std::mt19937 rng(static_cast<unsigned>(seed));
  json paragraphs = json::array();
  for (int q = 0; q < questions; ++q) {
    std::vector<std::string> w;
    const int n = 24 + static_cast<int>(rng() % 7);
    for (int i = 0; i < n; ++i) w.push_back(words[rng() % 16]);
    if (q % 4 == 1) w[2] = "Fïlm";
    const int at = 3 + static_cast<int>(rng() % static_cast<unsigned>(n - 5));
    std::string context, before;
    for (int i = 0; i < n; ++i) {
      if (i == at) before = context + (i ? " " : "");
      context += (i ? " " : "") + w[i];
    }
    const std::string text = w[at] + " " + w[at + 1];
    int64_t chars = 0;  // answer_start counts characters
    for (unsigned char c : before) chars += (c & 0xC0) != 0x80;
    json qa = {{"id", "s" + std::to_string(seed) + "q" + std::to_string(q)}, {"question", "which plot was " + w[at]}};
    if (v2 && q % 3 == 2) {
      qa["answers"] = json::array();
      qa["is_impossible"] = true;
    } else {
      qa["answers"] = json::array({{{"text", text}, {"answer_start", chars}}});
    }
    paragraphs.push_back({{"context", context}, {"qas", json::array({qa})}});
  }
  return {{"version", v2 ? "v2.0" : "1.1"}, {"data", json::array({{{"title", "tiny"}, {"paragraphs", paragraphs}}})}};
}

class SquadRunTest : public ::testing::Test {
 protected:
  void SetUp() override { testing::make_tiny_model(root_ / "model"); }

  fs::path write_config(const std::string& task, const std::string& method, bool v2) {
    const std::string tag = task + "-" + method;
    testing::write_file(root_ / (tag + "-train.json"), squad_file(16, 1, v2).dump());
    testing::write_file(root_ / (tag + "-dev.json"), squad_file(8, 2, v2).dump());
    const fs::path config = root_ / (tag + ".yaml");
    testing::write_file(config, "task: " + task + "\nmodel: " + (root_ / "model").string() + "\noutput_dir: " +
                                    (root_ / tag).string() + "\nmethod: " + method +
                                    "\nseed: 3\nmax_seq_length: 24\n"
                                    "squad:\n  train_file: " + (root_ / (tag + "-train.json")).string() +
                                    "\n  dev_file: " + (root_ / (tag + "-dev.json")).string() +
                                    "\n  doc_stride: 6\n  max_answer_length: 5\n"
                                    "training:\n  per_device_train_batch_size: 8\n  per_device_eval_batch_size: 8\n"
                                    "  num_train_epochs: 2\n  learning_rate: 0.01\n  logging_steps: 1\n"
                                    "lora:\n  r: 4\nlight_peft:\n  estimate_steps: 4\n  l1_lambda: 0.001\n");
    return config;
  }

  // CLI options running a shipped config (configs/<name>) on the tiny model and the files written
  // here (train.json: 16 questions, dev.json: 8), output in `out`.
  std::string example_config(const std::string& name, bool v2, const fs::path& out) {
    testing::write_file(root_ / "train.json", squad_file(16, 1, v2).dump());
    testing::write_file(root_ / "dev.json", squad_file(8, 2, v2).dump());
    return "--config " + (testing::source_dir() / "configs" / name).string() + " --set model=" +
           (root_ / "model").string() + " --set output_dir=" + out.string() +
           " --set squad.train_file=" + (root_ / "train.json").string() +
           " --set squad.dev_file=" + (root_ / "dev.json").string() +
           " --set max_seq_length=24 --set squad.doc_stride=6 --set squad.max_answer_length=5"
           " --set training.per_device_train_batch_size=8 --set training.logging_steps=1"
           " --set training.eval_steps=4 --set light_peft.estimate_steps=4";
  }

  // Trains with the CLI and checks results.json and the dev predictions; returns the output dir.
  fs::path train(const std::string& task, const std::string& method, bool v2) {
    const fs::path config = write_config(task, method, v2);
    const auto r = run_cli("train --config " + config.string());
    EXPECT_EQ(r.code, 0) << r.output;
    const fs::path out = root_ / (task + "-" + method);
    check_run(out, root_ / (task + "-" + method + "-dev.json"), task, v2);
    return out;
  }

  // results.json (EM/F1, v2's HasAns/NoAns), metrics.jsonl and dev_predictions.json of a run.
  void check_run(const fs::path& out, const fs::path& dev_file, const std::string& task, bool v2) {
    const json results = json::parse(testing::read_file(out / "results.json"));
    EXPECT_EQ(results["task"], task);
    EXPECT_EQ(results["headline_metric"], "f1");
    for (const char* k : {"exact_match", "f1"}) {
      EXPECT_TRUE(results["dev"].contains(k)) << results.dump();
      const double v = results["dev"].value(k, -1.0);
      EXPECT_TRUE(v >= 0 && v <= 100) << k << " " << v;
    }
    if (v2) {
      for (const char* k : {"HasAns_exact", "HasAns_f1", "NoAns_exact", "NoAns_f1", "total"})
        EXPECT_TRUE(results["dev"].contains(k)) << k;
    }
    // metrics.jsonl: the final line carries the same EM/F1 as results.json.
    json final_line;
    std::istringstream lines(testing::read_file(out / "metrics.jsonl"));
    for (std::string line; std::getline(lines, line);) {
      const json j = json::parse(line);
      if (j.value("stage", "") == "final") final_line = j;
    }
    ASSERT_FALSE(final_line.is_null()) << "no final line in metrics.jsonl";
    EXPECT_EQ(final_line["eval_f1"], results["dev"]["f1"]);
    EXPECT_EQ(final_line["eval_exact_match"], results["dev"]["exact_match"]);

    const json predictions = json::parse(testing::read_file(out / "dev_predictions.json"));
    const json dev = json::parse(testing::read_file(dev_file));
    EXPECT_EQ(predictions.size(), 8u);
    for (const auto& p : dev["data"][0]["paragraphs"]) {
      const std::string id = p["qas"][0]["id"];
      EXPECT_TRUE(predictions.contains(id)) << id;
      if (!predictions.contains(id)) continue;
      const std::string answer = predictions[id];
      // An answer is a piece of its context ("" only for v2's no-answer; "empty" is HF's stand-in).
      EXPECT_TRUE(answer == "empty" || p["context"].get<std::string>().find(answer) != std::string::npos) << answer;
      if (!v2) EXPECT_FALSE(answer.empty());
    }
    EXPECT_EQ(fs::exists(out / "dev_null_odds.json"), v2);
  }

  TempDir root_;
};

TEST_F(SquadRunTest, LoraTrainEvalPredict) {
  const fs::path out = train("squad", "lora", false);
  const fs::path config = root_ / "squad-lora.yaml";
  const auto e = run_cli("eval --config " + config.string());
  ASSERT_EQ(e.code, 0) << e.output;
  const json results = json::parse(testing::read_file(out / "results.json"));
  const json evaluated = json::parse(testing::read_file(out / "eval_results.json"));
  EXPECT_EQ(evaluated["dev"], results["dev"]);  // eval reproduces the trainer's final metrics
  EXPECT_EQ(testing::read_file(out / "eval_predictions.json"), testing::read_file(out / "dev_predictions.json"));

  const auto p = run_cli("predict --config " + config.string() + " --split dev --out " + (root_ / "p/dev.json").string());
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_TRUE(contains(p.output, "8 predictions -> ")) << p.output;
  EXPECT_EQ(testing::read_file(root_ / "p/dev.json"), testing::read_file(out / "dev_predictions.json"));
  // No test file configured: a clear error that points at --split dev.
  const auto t = run_cli("predict --config " + config.string() + " --out " + (root_ / "p/test.json").string());
  EXPECT_NE(t.code, 0);
  EXPECT_TRUE(contains(t.output, "no file given: squad.test_file; `lightpeft predict --split dev` predicts the dev file"))
      << t.output;
}

// configs/squad_example.yaml as shipped (light-peft: estimate -> prune -> finetune), pointed at the
// tiny model and files: the span head goes through pruning (trained in every stage, saved with the
// adapter as modules_to_save), the pruned run reloads to the same EM/F1, predict writes SQuAD's JSON.
TEST_F(SquadRunTest, ExampleConfigLightPeftPrunesKeepsTheSpanHeadAndPredicts) {
  const fs::path out = root_ / "example";
  const std::string config = example_config("squad_example.yaml", false, out);
  const auto r = run_cli("train " + config);
  ASSERT_EQ(r.code, 0) << r.output;
  check_run(out, root_ / "dev.json", "squad", false);
  const json results = json::parse(testing::read_file(out / "results.json"));
  EXPECT_EQ(results["method"], "light-peft");
  ASSERT_TRUE(results.contains("pruning")) << results.dump();
  EXPECT_LT(results["pruning"]["heads"][1].get<int64_t>(), results["pruning"]["heads"][0].get<int64_t>());
  EXPECT_LT(results["pruning"]["ffn_neurons"][1].get<int64_t>(), results["pruning"]["ffn_neurons"][0].get<int64_t>());
  // The span head (hidden 16 -> 2) is saved with the adapter, under HF PEFT's key.
  const StateDict adapter = load_safetensors(out / "finetune/final/adapter_model.safetensors");
  ASSERT_TRUE(adapter.count("base_model.model.qa_outputs.weight")) << "no qa_outputs in the adapter";
  EXPECT_EQ(adapter.at("base_model.model.qa_outputs.weight").sizes(), (std::vector<int64_t>{2, 16}));
  EXPECT_TRUE(adapter.count("base_model.model.qa_outputs.bias"));
  // The finished run rebuilt (pretrained model, the plan, the adapter with the head) scores the same.
  const auto e = run_cli("eval " + config);
  ASSERT_EQ(e.code, 0) << e.output;
  const json evaluated = json::parse(testing::read_file(out / "eval_results.json"));
  EXPECT_EQ(evaluated["dev"], results["dev"]);
  EXPECT_NEAR(evaluated["dev_loss"].get<double>(), results["dev_loss"].get<double>(), 1e-5);
  const auto p = run_cli("predict " + config + " --split dev --out " + (root_ / "answers.json").string());
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_EQ(testing::read_file(root_ / "answers.json"), testing::read_file(out / "dev_predictions.json"));
  // The report tabulates EM/F1 (it plots with the venv's matplotlib; tests/report covers its absence).
  const std::string py = testing::python_path();
  if (!py.empty() && std::system(("'" + py + "' -c 'import matplotlib, safetensors' >/dev/null 2>&1").c_str()) == 0) {
    const auto rep = run_cli("report " + out.string());
    ASSERT_EQ(rep.code, 0) << rep.output;
    const std::string index = testing::read_file(out / "report/index.md");
    EXPECT_TRUE(contains(index, "| f1 (headline) |")) << index;
    EXPECT_TRUE(contains(index, "| exact_match |")) << index;
  }
}

// configs/squad_v2_example.yaml: unanswerable questions, null odds beside the answers.
TEST_F(SquadRunTest, V2ExampleConfigWritesNullOdds) {
  const fs::path out = root_ / "example_v2";
  const std::string config = example_config("squad_v2_example.yaml", true, out);
  const auto r = run_cli("train " + config);
  ASSERT_EQ(r.code, 0) << r.output;
  check_run(out, root_ / "dev.json", "squad_v2", true);
  const json odds = json::parse(testing::read_file(out / "dev_null_odds.json"));
  EXPECT_EQ(odds.size(), 8u);
  for (const auto& [id, v] : odds.items()) EXPECT_TRUE(v.is_number()) << id;
  const auto p = run_cli("predict " + config + " --split dev --out " + (root_ / "v2.json").string());
  ASSERT_EQ(p.code, 0) << p.output;
  EXPECT_EQ(testing::read_file(root_ / "v2.json"), testing::read_file(out / "dev_predictions.json"));
  // predict runs LoRA merged into the base weights: the same odds up to float rounding.
  const json predicted = json::parse(testing::read_file(root_ / "v2_null_odds.json"));
  ASSERT_EQ(predicted.size(), odds.size());
  for (const auto& [id, v] : odds.items()) EXPECT_NEAR(predicted.at(id).get<double>(), v.get<double>(), 1e-5) << id;
}

// Labels and answers line up end to end: when the answer is always the context's third and fourth
// word (a constant question, so a constant token position), the tiny model learns it and answers
// every dev question exactly; a label or an offset off by one token would score no exact match.
TEST_F(SquadRunTest, LearnsAnAnswerAtAFixedPlace) {
  const char* words[] = {"good", "great", "fine", "nice", "bad", "awful", "poor", "sad", "movie", "film", "cast"};
  auto file = [&](int questions, unsigned seed) {
    std::mt19937 rng(seed);
    json paragraphs = json::array();
    for (int q = 0; q < questions; ++q) {
      std::string context, answer;
      int64_t start = 0;
      for (int i = 0; i < 8; ++i) {
        const std::string w = words[rng() % std::size(words)];
        if (i == 2) start = static_cast<int64_t>(context.size()) + 1;
        if (i == 2 || i == 3) answer += (i == 3 ? " " : "") + w;
        context += (i ? " " : "") + w;
      }
      paragraphs.push_back({{"context", context},
                            {"qas", json::array({{{"id", "q" + std::to_string(seed) + "_" + std::to_string(q)},
                                                  {"question", "which plot"},
                                                  {"answers", json::array({{{"text", answer}, {"answer_start", start}}})}}})}});
    }
    return json{{"version", "1.1"}, {"data", json::array({{{"title", "fixed"}, {"paragraphs", paragraphs}}})}};
  };
  testing::write_file(root_ / "fixed-train.json", file(32, 5).dump());
  testing::write_file(root_ / "fixed-dev.json", file(8, 6).dump());
  const fs::path out = root_ / "fixed";
  testing::write_file(root_ / "fixed.yaml",
                      "task: squad\nmodel: " + (root_ / "model").string() + "\noutput_dir: " + out.string() +
                          "\nmethod: full\nseed: 3\nmax_seq_length: 24\nsquad:\n  train_file: " +
                          (root_ / "fixed-train.json").string() + "\n  dev_file: " + (root_ / "fixed-dev.json").string() +
                          "\n  doc_stride: 6\ntraining:\n  per_device_train_batch_size: 8\n  num_train_epochs: 3\n"
                          "  learning_rate: 0.01\n  warmup_ratio: 0\n  logging_steps: 20\n");
  const auto r = run_cli("train --config " + (root_ / "fixed.yaml").string());
  ASSERT_EQ(r.code, 0) << r.output;
  const json results = json::parse(testing::read_file(out / "results.json"));
  EXPECT_EQ(results["dev"]["exact_match"], 100.0) << results.dump() << "\n" << testing::read_file(out / "dev_predictions.json");
}

TEST_F(SquadRunTest, V1RejectsUnanswerableQuestions) {
  const fs::path config = write_config("squad", "lora", /*v2=*/true);  // a v2 file under task squad
  const auto r = run_cli("train --config " + config.string());
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.output, "squad-lora-train.json: question 's1q2': has no answers (unanswerable); task squad is "
                                 "SQuAD v1.1"))
      << r.output;
}

}  // namespace
}  // namespace lightpeft
