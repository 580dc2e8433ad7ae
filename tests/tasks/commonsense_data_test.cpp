// LLM-Adapters' commonsense files: the question/choice parser on hand-made instructions of every
// set, its errors, names and folders, the loader's per-row errors, and every real file parsing.
#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/data/commonsense.h"
#include "test_support.h"

namespace lightpeft {
namespace {

namespace fs = std::filesystem;
using testing::contains;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(CommonsenseParse, EverySetsLayout) {
  auto q = parse_commonsense_question(
      CommonsenseSet::arc_easy,
      "Please choose the correct answer to the question: Which gas do plants absorb?\n\nAnswer1: oxygen Answer2: "
      "carbon dioxide Answer3: helium\n\nAnswer format: answer1/answer2/answer3");
  EXPECT_EQ(q.question, "Which gas do plants absorb?");
  EXPECT_EQ(q.choices, (std::vector<std::string>{"oxygen", "carbon dioxide", "helium"}));

  q = parse_commonsense_question(CommonsenseSet::boolq,
                                 "Please answer the following question with true or false, question: is water wet?\n\n"
                                 "Answer format: true/false");
  EXPECT_EQ(q.question, "is water wet?");
  EXPECT_EQ(q.choices, (std::vector<std::string>{"no", "yes"}));

  // PIQA: choices on their own paragraphs, trailing spaces kept verbatim.
  q = parse_commonsense_question(CommonsenseSet::piqa,
                                 "Please choose the correct solution to the question: dresser\n\nSolution1: replace drawer "
                                 "\n\nSolution2: finish it\n\nAnswer format: solution1/solution2");
  EXPECT_EQ(q.question, "dresser");
  EXPECT_EQ(q.choices, (std::vector<std::string>{"replace drawer ", "finish it"}));

  // WinoGrande: no paragraph before the answer format.
  q = parse_commonsense_question(CommonsenseSet::winogrande,
                                 "Please choose the correct answer to fill in the blank to complete the given sentence: "
                                 "Sarah was better than Maria so _ won.\n\nOption1: Sarah Option2: Maria Answer format: "
                                 "option1/option2");
  EXPECT_EQ(q.question, "Sarah was better than Maria so _ won.");
  EXPECT_EQ(q.choices, (std::vector<std::string>{"Sarah", "Maria"}));

  // A question holding what looks like a marker keeps it: markers are found from the end.
  q = parse_commonsense_question(CommonsenseSet::openbookqa,
                                 "Please choose the correct answer to the question: What does Answer1: mean?\n\nAnswer1: a "
                                 "Answer2: b Answer3: c Answer4: d\n\nAnswer format: answer1/answer2/answer3/answer4");
  EXPECT_EQ(q.question, "What does Answer1: mean?");
  EXPECT_EQ(q.choices.size(), 4u);
  EXPECT_EQ(q.choices[3], "d");
}

TEST(CommonsenseParse, ErrorsSayWhatIsWrong) {
  EXPECT_TRUE(contains(error_of([] { parse_commonsense_question(CommonsenseSet::arc_easy, "What is 2+2?"); }),
                       "does not start with"));
  EXPECT_TRUE(contains(error_of([] {
                         parse_commonsense_question(CommonsenseSet::arc_easy,
                                                    "Please choose the correct answer to the question: q\n\nAnswer1: a");
                       }),
                       "Answer format"));
  EXPECT_TRUE(contains(error_of([] {
                         parse_commonsense_question(CommonsenseSet::arc_easy,
                                                    "Please choose the correct answer to the question: q\n\nAnswer1: a "
                                                    "Answer3: c\n\nAnswer format: answer1/answer2");
                       }),
                       "Answer2"));
  EXPECT_TRUE(contains(error_of([] {
                         parse_commonsense_question(CommonsenseSet::arc_easy,
                                                    "Please choose the correct answer to the question: q\n\nAnswer1: a "
                                                    "Answer2: b\n\nAnswer format: option1/option2");
                       }),
                       "expected the answer format answer1/answer2"));
  EXPECT_TRUE(contains(error_of([] {
                         parse_commonsense_question(CommonsenseSet::winogrande,
                                                    "Please choose the correct answer to fill in the blank to complete the "
                                                    "given sentence: no blank.\n\nOption1: a Option2: b Answer format: "
                                                    "option1/option2");
                       }),
                       "no blank"));
  EXPECT_TRUE(contains(error_of([] { commonsense_answer_index(CommonsenseSet::boolq, "maybe", 2); }),
                       "not one of false, true"));
  EXPECT_EQ(commonsense_answer_index(CommonsenseSet::social_i_qa, "answer3", 3), 2);
  EXPECT_EQ(commonsense_answer_index(CommonsenseSet::boolq, "true", 2), 1);
}

TEST(CommonsenseParse, Names) {
  EXPECT_EQ(find_commonsense_set("ARC-Easy"), CommonsenseSet::arc_easy);
  EXPECT_EQ(find_commonsense_set("arc_e"), CommonsenseSet::arc_easy);
  EXPECT_EQ(find_commonsense_set("ARC-Challenge"), CommonsenseSet::arc_challenge);
  EXPECT_EQ(find_commonsense_set("obqa"), CommonsenseSet::openbookqa);
  EXPECT_EQ(find_commonsense_set("siqa"), CommonsenseSet::social_i_qa);
  EXPECT_EQ(find_commonsense_set("commonsense-boolq"), CommonsenseSet::boolq);
  EXPECT_EQ(find_commonsense_set("cs_piqa"), CommonsenseSet::piqa);
  EXPECT_FALSE(find_commonsense_set("rte").has_value());
  EXPECT_FALSE(find_commonsense_set("superglue-boolq").has_value());
  EXPECT_FALSE(find_commonsense_set("commonsense").has_value());
}

TEST(CommonsenseLoad, BadRowsNameTheFileAndRow) {
  testing::TempDir dir;
  const fs::path file = dir / "test.json";
  testing::write_file(
      file,
      R"([{"instruction": "Please answer the following question with true or false, question: is it?\n\nAnswer format: true/false", "input": "", "output": "the correct answer is true", "answer": "true"},
          {"instruction": "Please answer the following question with true or false, question: is it?\n\nAnswer format: true/false", "input": "", "output": "the correct answer is maybe", "answer": "maybe"},
          {"instruction": "What?", "input": "", "output": "x", "answer": "true"}])");
  const std::string e = error_of([&] { load_commonsense_file(CommonsenseSet::boolq, file); });
  EXPECT_TRUE(contains(e, file.string() + ": row 1: boolq: answer \"maybe\" is not one of false, true")) << e;
  LoadOptions skip;
  skip.skip_bad_rows = true;
  const auto rows = load_commonsense_file(CommonsenseSet::boolq, file, skip);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].text, "is it?");
  EXPECT_EQ(rows[0].label, 1.0f);
  EXPECT_EQ(rows[0].answer, "true");
  EXPECT_EQ(rows[0].subset, "boolq");
  ASSERT_EQ(rows[0].turns.size(), 1u);
  EXPECT_EQ(rows[0].turns[0].response, "the correct answer is true");
  EXPECT_TRUE(contains(rows[0].turns[0].prompt, "### Instruction:\nPlease answer"));
  // The row without output is reported by the row reader (naming the row).
  testing::write_file(file, R"([{"instruction": "x", "input": "", "answer": "true"}])");
  EXPECT_TRUE(contains(error_of([&] { load_commonsense_file(CommonsenseSet::boolq, file); }), ": row 0: missing 'output'"));
}

TEST(CommonsenseLoad, SetFolders) {
  testing::TempDir dir;
  fs::create_directories(dir / "ARC-Easy");
  testing::write_file(dir / "ARC-Easy" / "test.json", "[]");
  EXPECT_EQ(commonsense_set_dir(CommonsenseSet::arc_easy, dir.path()), dir / "ARC-Easy");
  EXPECT_EQ(commonsense_set_dir(CommonsenseSet::arc_easy, dir / "ARC-Easy"), dir / "ARC-Easy");
  EXPECT_TRUE(contains(error_of([&] { commonsense_set_dir(CommonsenseSet::piqa, dir.path()); }), "no LLM-Adapters files"));
}

TEST(CommonsenseLoad, EveryRealFileParses) {
  LP_REQUIRE_SHARED(shared);
  const fs::path data = shared / "data" / "commonsense";
  if (!fs::exists(data)) GTEST_SKIP() << data << " is absent";
  // Rows per file as the data's README lists them.
  const std::vector<std::tuple<CommonsenseSet, std::string, size_t>> files = {
      {CommonsenseSet::arc_challenge, "test", 1172}, {CommonsenseSet::arc_challenge, "train", 1119},
      {CommonsenseSet::arc_easy, "test", 2376},      {CommonsenseSet::arc_easy, "train", 2251},
      {CommonsenseSet::boolq, "test", 3270},         {CommonsenseSet::boolq, "train", 9427},
      {CommonsenseSet::openbookqa, "test", 500},     {CommonsenseSet::openbookqa, "train", 4957},
      {CommonsenseSet::piqa, "test", 1838},          {CommonsenseSet::social_i_qa, "test", 1954},
      {CommonsenseSet::winogrande, "test", 1267}};
  for (const auto& [set, split, n] : files) {
    const auto rows = load_commonsense_file(set, commonsense_set_dir(set, data) / (split + ".json"));
    EXPECT_EQ(rows.size(), n) << commonsense_set_info(set).name << " " << split;
    for (const auto& r : rows) {
      ASSERT_GE(r.choices.size(), 2u);
      ASSERT_FALSE(r.text.empty());
      ASSERT_EQ(r.turns[0].response, "the correct answer is " + r.answer);
    }
  }
}

}  // namespace
}  // namespace lightpeft
