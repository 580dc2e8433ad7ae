// Log-likelihood scoring of continuations: lm-eval's pair encoding, and the shared-context batched
// scoring (one key/value cache per question, left-padded contexts, right-padded continuations)
// against the plain computation on each full sequence.
#include <gtest/gtest.h>

#include <ATen/ops/log_softmax.h>
#include <ATen/ops/tensor.h>
#include <torch/utils.h>

#include "lightpeft/core/error.h"
#include "lightpeft/tasks/choice_scoring.h"
#include "lightpeft/tasks/commonsense_task.h"
#include "tasks_test_util.h"

namespace lightpeft {
namespace {

std::vector<int64_t> bytes(const std::string& s) {
  std::vector<int64_t> out;
  for (unsigned char c : s) out.push_back(c);
  return out;
}

TEST(ChoiceScoring, PairEncodingAsLmEval) {
  testing::TempDir dir;
  testing::write_byte_tokenizer(dir.path(), true);
  auto tok = load_tokenizer(dir.path());
  // Trailing spaces of the context move to the continuation; the lead (BOS) starts the context.
  ContinuationRequest r = encode_continuation(*tok, "Question: q\nAnswer: ", "yes", 64);
  EXPECT_EQ(r.context, [] {
    auto v = bytes("Question: q\nAnswer:");
    v.insert(v.begin(), testing::kBos);
    return v;
  }());
  EXPECT_EQ(r.continuation, bytes(" yes"));
  // Cut from the context's start to fit.
  r = encode_continuation(*tok, "0123456789", " ab", 6);
  EXPECT_EQ(r.context, bytes("789"));
  EXPECT_EQ(r.continuation, bytes(" ab"));
  EXPECT_THROW(encode_continuation(*tok, "c", "", 8), Error);
  EXPECT_THROW(encode_continuation(*tok, "c", "abcdefgh", 8), Error);
}

TEST(ChoiceScoring, ContinuationsOfEachSet) {
  auto pairs = choice_continuations(CommonsenseSet::arc_easy, "Why?", {"a b", "c"});
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(pairs[0].first, "Question: Why?\nAnswer:");
  EXPECT_EQ(pairs[0].second, " a b");
  pairs = choice_continuations(CommonsenseSet::winogrande, "Sarah beat Maria so _ won the prize. ", {"Sarah", "Maria"});
  EXPECT_EQ(pairs[0].first, "Sarah beat Maria so Sarah");
  EXPECT_EQ(pairs[1].first, "Sarah beat Maria so Maria");
  EXPECT_EQ(pairs[1].second, " won the prize.");
}

TEST(ChoiceScoring, SharedContextBatchesEqualFullSequences) {
  testing::TempDir dir;
  testing::write_byte_tokenizer(dir.path(), false);
  auto tok = load_tokenizer(dir.path());
  torch::manual_seed(7);
  auto model = make_task_model(testing::tiny_llama_config(), HeadKind::causal_lm);
  model->eval();
  torch::NoGradGuard no_grad;
  // Questions with contexts of different lengths and continuations of 1 to 6 tokens; the second
  // question's choices each have their own context (WinoGrande's partial scoring).
  std::vector<ContinuationRequest> requests;
  const std::vector<std::pair<std::string, std::vector<std::string>>> questions = {
      {"Question: which?\nAnswer:", {" a", " bcd", " efghij"}},
      {"short", {" x"}},
      {"short2", {" yy"}},
      {"Question: a much longer question here?\nAnswer:", {" yes", " no"}},
      {"Q", {" z"}}};
  int64_t group = 0;
  for (const auto& [context, choices] : questions) {
    for (const auto& c : choices) {
      requests.push_back(encode_continuation(*tok, context, c, 128));
      requests.back().group = group;
    }
    ++group;
  }
  // The plain computation: each full sequence alone.
  std::vector<double> expected;
  for (const auto& r : requests) {
    std::vector<int64_t> seq = r.context;
    seq.insert(seq.end(), r.continuation.begin(), r.continuation.end() - 1);
    ModelInputs in;
    in.input_ids = at::tensor(seq, at::kLong).unsqueeze(0);
    const auto lp = at::log_softmax(model->forward(in).logits[0].to(at::kFloat), -1);
    double sum = 0;
    for (size_t j = 0; j < r.continuation.size(); ++j)
      sum += lp[static_cast<int64_t>(r.context.size() + j) - 1][r.continuation[j]].item<float>();
    expected.push_back(sum);
  }
  for (int64_t batch : {1, 2, 3, 16}) {
    ScoringOptions o;
    o.batch_size = batch;
    const auto scores = score_continuations(*model, requests, o);
    ASSERT_EQ(scores.size(), requests.size());
    for (size_t i = 0; i < requests.size(); ++i)
      EXPECT_NEAR(scores[i].loglikelihood, expected[i], 1e-4) << "batch " << batch << ", request " << i;
  }
  // A group whose contexts differ is refused.
  auto bad = requests;
  bad[1].context.push_back(5);
  EXPECT_THROW(score_continuations(*model, bad), Error);
}

}  // namespace
}  // namespace lightpeft
