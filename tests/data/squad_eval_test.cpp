// Extractive QA without a model: windows over long contexts and their labels, HF's answer
// post-processing on hand-made logits, and the official SQuAD EM/F1 (incl. its normalisation).
#include <gtest/gtest.h>

#include "data_test_util.h"
#include "lightpeft/data/qa_postprocess.h"
#include "lightpeft/data/qa_windows.h"
#include "lightpeft/data/squad_metrics.h"

namespace lightpeft {
namespace {

using testing::contains;
using testing::error_of;
using testing::put;
using testing::TempDir;

// ---- windows -------------------------------------------------------------------------------------

// A WordPiece tokenizer whose words a0..a29 are one token each.
std::unique_ptr<Tokenizer> word_tokenizer(const TempDir& dir) {
  std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nwho\n?\n.\ncafe\nin\nzurich\n";
  for (int i = 0; i < 30; ++i) vocab += "a" + std::to_string(i) + "\n";
  return load_tokenizer(put(dir, "vocab.txt", vocab));
}

std::string words(int from, int to) {  // "a<from> ... a<to - 1>"
  std::string s;
  for (int i = from; i < to; ++i) s += (i > from ? " a" : "a") + std::to_string(i);
  return s;
}

SpanAnswer answer_in(const std::string& context, const std::string& text) {
  return SpanAnswer{text, static_cast<int64_t>(context.find(text))};
}

std::vector<int64_t> labels(const QaFeature& f) { return f.input.label_positions; }

// [CLS] who ? [SEP] = 4 tokens before the context; max_length 11 leaves 6 context tokens per window,
// doc_stride 2 moves each window on by 4: [0, 6), [4, 10), [8, 14).
const QaWindowOptions kSmall{11, 2};

TEST(QaWindows, ShortPairIsOneWindow) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const std::string context = words(0, 5);
  const SpanAnswer a = answer_in(context, "a2 a3");
  const auto f = encode_qa_windows(*tok, "   who ?", context, &a, kSmall);  // the question is left-stripped
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].input.input_ids.size(), 4u + 5u + 1u);
  EXPECT_EQ(f[0].window.context_start, 4);
  EXPECT_EQ(f[0].input.token_type_ids, (std::vector<int64_t>{0, 0, 0, 0, 1, 1, 1, 1, 1, 1}));
  EXPECT_EQ(labels(f[0]), (std::vector<int64_t>{6, 7}));
  EXPECT_EQ(f[0].window.context_span(4), (TokenOffsets{0, 2}));
  EXPECT_EQ(f[0].window.context_span(3), std::nullopt);  // [SEP]
  EXPECT_EQ(f[0].window.context_span(9), std::nullopt);  // the last [SEP]
}

TEST(QaWindows, LongContextIsCutWithAStride) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const std::string context = words(0, 14);
  const auto f = encode_qa_windows(*tok, "who ?", context, nullptr, kSmall);
  ASSERT_EQ(f.size(), 3u);
  for (const auto& w : f) {
    EXPECT_EQ(w.input.input_ids.size(), 11u);
    EXPECT_EQ(labels(w), (std::vector<int64_t>{0, 0}));  // no answer: CLS
  }
  // Each window's first context token, in context bytes: a0, a4, a8; consecutive windows share 2.
  EXPECT_EQ(f[0].window.context_offsets.front().first, static_cast<int64_t>(context.find("a0")));
  EXPECT_EQ(f[1].window.context_offsets.front().first, static_cast<int64_t>(context.find("a4")));
  EXPECT_EQ(f[2].window.context_offsets.front().first, static_cast<int64_t>(context.find("a8")));
  EXPECT_EQ(f[2].window.context_offsets.back().second, static_cast<int64_t>(context.size()));
  EXPECT_EQ(f[0].input.input_ids[4 + 4], f[1].input.input_ids[4]);  // a4 in both
}

TEST(QaWindows, AnswerInTheSecondWindowOnly) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const std::string context = words(0, 14);
  const SpanAnswer a = answer_in(context, "a6 a7");
  const auto f = encode_qa_windows(*tok, "who ?", context, &a, kSmall);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(labels(f[0]), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(labels(f[1]), (std::vector<int64_t>{4 + 2, 4 + 3}));  // window 2 starts at a4
  EXPECT_EQ(labels(f[2]), (std::vector<int64_t>{0, 0}));
}

TEST(QaWindows, AnswerInNoWindowWhollyIsLabelledCls) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const std::string context = words(0, 14);
  const SpanAnswer a = answer_in(context, "a5 a6 a7 a8 a9 a10");  // [0,6) [4,10) [8,14) each cut it
  for (const auto& w : encode_qa_windows(*tok, "who ?", context, &a, kSmall))
    EXPECT_EQ(labels(w), (std::vector<int64_t>{0, 0}));
}

TEST(QaWindows, AnswerAtAWindowsLastTokenStaysInTheContext) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const std::string context = words(0, 14);
  const SpanAnswer a = answer_in(context, "a5");
  const auto f = encode_qa_windows(*tok, "who ?", context, &a, kSmall);
  // run_qa would label the [SEP] after a5 (position 10) as the start; a5 itself is position 9.
  EXPECT_EQ(labels(f[0]), (std::vector<int64_t>{9, 9}));
  EXPECT_EQ(labels(f[1]), (std::vector<int64_t>{5, 5}));
}

TEST(QaWindows, NonAsciiContextOffsetsAreBytes) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const std::string context = "Café in Zürich.";
  const SpanAnswer a = answer_in(context, "Zürich");
  const auto f = encode_qa_windows(*tok, "who ?", context, &a, kSmall);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].window.context_offsets,
            (std::vector<TokenOffsets>{{0, 5}, {6, 8}, {9, 16}, {16, 17}}));  // café, in, zürich, .
  EXPECT_EQ(labels(f[0]), (std::vector<int64_t>{6, 6}));
}

TEST(QaWindows, NoRoomIsAnError) {
  TempDir dir;
  const auto tok = word_tokenizer(dir);
  const std::string long_question = words(0, 9) + " ?";  // 10 tokens
  EXPECT_TRUE(contains(error_of([&] { encode_qa_windows(*tok, long_question, words(0, 14), nullptr, kSmall); }),
                       "the question has 10 tokens: with 3 special tokens, max_length 11 leaves no room for the context"));
  EXPECT_TRUE(contains(error_of([&] { encode_qa_windows(*tok, "who ?", words(0, 14), nullptr, QaWindowOptions{11, 6}); }),
                       "doc_stride 6 must be below the 6 context tokens a window has room for"));
  // A pair that fits needs no room for a stride.
  EXPECT_EQ(encode_qa_windows(*tok, "who ?", words(0, 3), nullptr, QaWindowOptions{11, 6}).size(), 1u);
}

// ---- post-processing -----------------------------------------------------------------------------

// "alpha beta gamma delta" as positions 3..6 of [CLS] q q [SEP] alpha beta gamma delta [SEP].
const std::string kContext = "alpha beta gamma delta";
QaWindow four_words() {
  QaWindow w;
  w.context_start = 3;
  w.context_offsets = {{0, 5}, {6, 10}, {11, 16}, {17, 22}};
  return w;
}

struct Logits {
  std::vector<float> start, end;
};

QaAnswer answer(const std::vector<std::pair<const QaWindow*, Logits>>& windows, const QaPostprocessOptions& o) {
  std::vector<WindowLogits> w;
  for (const auto& [window, l] : windows)
    w.push_back({window, l.start.data(), l.end.data(), static_cast<int64_t>(l.start.size())});
  return postprocess_qa(kContext, w, o);
}

TEST(QaPostprocess, BestSpanInTheContext) {
  const QaWindow w = four_words();
  // The highest start and end are in the question (position 1): not an answer.
  const Logits l{{0, 10, 0, 3, 5, 1, 0, 0}, {0, 10, 0, 0, 1, 4, 2, 0}};
  EXPECT_EQ(answer({{&w, l}}, {}).text, "beta gamma");  // 5 + 4
  QaPostprocessOptions one_token;
  one_token.max_answer_length = 1;
  EXPECT_EQ(answer({{&w, l}}, one_token).text, "beta");  // 5 + 1 beats 1 + 4 (gamma)
  // With one candidate each, the only pair is (1, 1): no span qualifies -> HF's "empty".
  QaPostprocessOptions top1;
  top1.n_best_size = 1;
  EXPECT_EQ(answer({{&w, l}}, top1).text, "empty");
  // An end before the start never qualifies.
  const Logits backwards{{0, 0, 0, 0, 0, 0, 9, 0}, {0, 0, 0, 9, 0, 0, 0, 0}};
  EXPECT_EQ(answer({{&w, backwards}}, {}).text, "delta");  // 9 + 0 beats 0 + 9 (alpha); ties: later first
}

TEST(QaPostprocess, NullAnswerAgainstTheThreshold) {
  const QaWindow w = four_words();
  const Logits l{{4, 0, 0, 3, 5, 1, 0, 0}, {4, 0, 0, 0, 1, 4, 2, 0}};  // null 8, best span 9
  QaPostprocessOptions v2;
  v2.version_2_with_negative = true;
  QaAnswer a = answer({{&w, l}}, v2);
  EXPECT_EQ(a.text, "beta gamma");
  EXPECT_EQ(a.null_score_diff, -1.0);
  v2.null_score_diff_threshold = -1.5;  // null - best = -1 > -1.5: no answer
  a = answer({{&w, l}}, v2);
  EXPECT_EQ(a.text, "");
  EXPECT_EQ(a.null_score_diff, -1.0);
  // v1 ignores the null score.
  EXPECT_EQ(answer({{&w, l}}, {}).text, "beta gamma");
}

TEST(QaPostprocess, AnswersAcrossWindowsAndTheMinimumNullScore) {
  const QaWindow first = four_words(), second = four_words();
  const Logits a{{9, 0, 0, 1, 0, 0, 0, 0}, {9, 0, 0, 1, 0, 0, 0, 0}};    // null 18, alpha 2
  const Logits b{{1, 0, 0, 0, 0, 3, 0, 0}, {1, 0, 0, 0, 0, 0, 3, 0}};    // null 2, gamma delta 6
  QaPostprocessOptions v2;
  v2.version_2_with_negative = true;
  const QaAnswer got = answer({{&first, a}, {&second, b}}, v2);
  EXPECT_EQ(got.text, "gamma delta");
  EXPECT_EQ(got.null_score_diff, 2.0 - 6.0);  // the null score is the smallest window's
  EXPECT_EQ(answer({{&first, a}, {&second, b}}, {}).text, "gamma delta");
}

TEST(QaPostprocess, OnlyTheNullAnswer) {
  const QaWindow w = four_words();
  const Logits l{{1, 9, 0, 0, 0, 0, 0, 0}, {2, 9, 0, 0, 0, 0, 0, 0}};
  QaPostprocessOptions v2;
  v2.version_2_with_negative = true;
  v2.n_best_size = 1;  // only (1, 1): no span; HF's "empty" stand-in has logits 0
  QaAnswer a = answer({{&w, l}}, v2);
  EXPECT_EQ(a.text, "");  // null 3 - 0 > 0
  EXPECT_EQ(a.null_score_diff, 3.0);
  v2.null_score_diff_threshold = 5;
  EXPECT_EQ(answer({{&w, l}}, v2).text, "empty");
}

// ---- official EM / F1 ----------------------------------------------------------------------------

TEST(SquadMetrics, NormalisationAsTheOfficialScript) {
  EXPECT_EQ(squad_normalize("The Cat!"), "cat");
  EXPECT_EQ(squad_normalize("  A  man, a plan, a canal: Panama "), "man plan canal panama");
  EXPECT_EQ(squad_normalize("an apple a day"), "apple day");
  // Punctuation goes first ('-' and '_' are punctuation), then articles: "the-ater" is "theater".
  EXPECT_EQ(squad_normalize("theater the-ater the_end"), "theater theater theend");
  EXPECT_EQ(squad_normalize("thé the"), "thé");  // é is a word character: "thé" is no article
  EXPECT_EQ(squad_normalize("ÉCOLE"), "école");
  EXPECT_EQ(squad_normalize("ΟΔΟΣ Σ"), "οδο\u03c2 \u03c3");  // Python's final sigma, a lone capital sigma
  EXPECT_EQ(squad_normalize("a\u00a0b\u3000the c"), "b c");  // Unicode whitespace
  EXPECT_EQ(squad_normalize("“the” «a»"), "“ ” « »");  // only ASCII punctuation goes
  EXPECT_EQ(squad_normalize(""), "");
}

TEST(SquadMetrics, ExactMatchAndF1) {
  EXPECT_EQ(squad_exact_match("Denver Broncos", "the denver broncos."), 1.0);
  EXPECT_EQ(squad_exact_match("Denver Broncos", "Denver"), 0.0);
  EXPECT_NEAR(squad_f1("the cat sat", "cat sat on the mat", SquadVersion::v1), 2 * 0.5 * 1.0 / 1.5, 1e-12);
  EXPECT_NEAR(squad_f1("cat cat dog", "cat dog dog", SquadVersion::v1), 2.0 / 3.0, 1e-12);
  // No tokens on either side: v1.1 scores 0, v2.0 scores 1 when both are empty.
  EXPECT_EQ(squad_f1("the", "", SquadVersion::v1), 0.0);
  EXPECT_EQ(squad_f1("the", "", SquadVersion::v2), 1.0);
  EXPECT_EQ(squad_f1("cat", "", SquadVersion::v2), 0.0);
}

TEST(SquadMetrics, ScoresMaxOverGoldAnswers) {
  const std::vector<SquadGold> gold = {{"q1", {"Denver Broncos", "Broncos"}}, {"q2", {"Santa Clara, California"}},
                                       {"q3", {"1889"}}};
  const std::map<std::string, std::string> pred = {{"q1", "broncos"}, {"q2", "Santa Clara"}};  // q3 unanswered
  const MetricResult r = squad_scores(gold, pred, SquadVersion::v1);
  EXPECT_EQ(r.headline, "f1");
  EXPECT_NEAR(r.values.at("exact_match"), 100.0 / 3, 1e-9);
  EXPECT_NEAR(r.values.at("f1"), 100.0 * (1.0 + 0.8) / 3, 1e-9);  // q2: P 1, R 2/3
}

TEST(SquadMetrics, V2SplitsHasAnsAndNoAns) {
  const std::vector<SquadGold> gold = {{"h1", {"the Broncos"}}, {"h2", {"Panthers"}}, {"n1", {}}, {"n2", {}},
                                       {"e1", {"the"}}};  // e1's only answer normalises to nothing
  const std::map<std::string, std::string> pred = {{"h1", "Broncos"}, {"h2", "Carolina Panthers"}, {"n1", ""},
                                                   {"n2", "Broncos"}, {"e1", ""}};
  const MetricResult r = squad_scores(gold, pred, SquadVersion::v2);
  EXPECT_NEAR(r.values.at("exact_match"), 100.0 * 3 / 5, 1e-9);
  EXPECT_NEAR(r.values.at("f1"), 100.0 * (1 + 2.0 / 3 + 1 + 0 + 1) / 5, 1e-9);
  EXPECT_EQ(r.values.at("total"), 5);
  EXPECT_EQ(r.values.at("HasAns_total"), 3);  // e1 has an answer in the file
  EXPECT_NEAR(r.values.at("HasAns_exact"), 100.0 * 2 / 3, 1e-9);
  EXPECT_EQ(r.values.at("NoAns_total"), 2);
  EXPECT_NEAR(r.values.at("NoAns_f1"), 50.0, 1e-9);
  EXPECT_TRUE(contains(error_of([&] { squad_scores(gold, {{"h1", "x"}}, SquadVersion::v2); }),
                       "no prediction for question 'h2'"));
}

}  // namespace
}  // namespace lightpeft
