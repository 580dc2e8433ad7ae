// The SQuAD v1.1 / v2.0 reader: examples, byte offsets of non-ASCII answers, and its errors (each
// names the file, the question id and its JSON path).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data_test_util.h"
#include "lightpeft/data/squad.h"

namespace lightpeft {
namespace {

using json = nlohmann::json;
using testing::contains;
using testing::error_of;
using testing::put;
using testing::TempDir;

json answer(const std::string& text, int64_t start) { return {{"text", text}, {"answer_start", start}}; }

json question(const std::string& id, const std::string& q, json answers) {
  return {{"id", id}, {"question", q}, {"answers", std::move(answers)}};
}

json squad(json paragraphs, const std::string& title = "T") {
  return {{"version", "1.1"}, {"data", json::array({{{"title", title}, {"paragraphs", std::move(paragraphs)}}})}};
}

json paragraph(const std::string& context, json qas) { return {{"context", context}, {"qas", std::move(qas)}}; }

TEST(SquadReader, ReadsQuestionsInFileOrder) {
  TempDir dir;
  const std::string c1 = "Super Bowl 50 was played at Levi's Stadium in Santa Clara.";
  const std::string c2 = "The Broncos won.";
  const json doc = squad(json::array(
      {paragraph(c1, json::array({question("a1", "Where was it played?",
                                           json::array({answer("Levi's Stadium", 28), answer("Santa Clara", 46)})),
                                  question("a2", "  Which bowl?", json::array({answer("Super Bowl 50", 0)}))})),
       paragraph(c2, json::array({question("b1", "Who won?", json::array({answer("The Broncos", 0)}))}))}));
  const auto file = put(dir, "train.json", doc.dump());
  const auto rows = load_squad_file(file);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].id, "a1");
  EXPECT_EQ(rows[0].text, "Where was it played?");
  EXPECT_EQ(*rows[0].text_pair, c1);
  ASSERT_EQ(rows[0].answers.size(), 2u);
  EXPECT_EQ(rows[0].answers[1].text, "Santa Clara");
  EXPECT_EQ(rows[0].answers[1].start, 46);
  EXPECT_TRUE(rows[0].has_label);
  EXPECT_EQ(rows[1].text, "  Which bowl?");  // kept as written; windows left-strip it (run_qa)
  EXPECT_EQ(rows[2].index, 2);
  EXPECT_EQ(*rows[2].text_pair, c2);

  LoadOptions two;
  two.max_examples = 2;
  EXPECT_EQ(load_squad_file(file, two).size(), 2u);
}

TEST(SquadReader, ConvertsCharacterOffsetsToBytesInNonAsciiContexts) {
  TempDir dir;
  // Characters of 1, 2, 3 and 4 bytes before the answers.
  const std::string context = "Café Zürich — 東京 😀 naïve crème brûlée in São Paulo.";
  const json doc = squad(json::array({paragraph(
      context, json::array({question("u1", "Which city?", json::array({answer("東京", 14)})),
                            question("u2", "What dessert?", json::array({answer("crème brûlée", 25)})),
                            question("u3", "Where?", json::array({answer("São Paulo", 41)}))}))}));
  const auto rows = load_squad_file(put(dir, "u.json", doc.dump()));
  ASSERT_EQ(rows.size(), 3u);
  for (const auto& r : rows) {
    const auto& a = r.answers.at(0);
    EXPECT_EQ(context.substr(static_cast<size_t>(a.start), a.text.size()), a.text) << r.id;
  }
  EXPECT_EQ(rows[0].answers[0].start, static_cast<int64_t>(std::string("Café Zürich — ").size()));
  EXPECT_EQ(code_point_to_byte("aé東😀b", 4), 1 + 2 + 3 + 4);
  EXPECT_EQ(code_point_to_byte("aé", 2), 3);
  EXPECT_EQ(code_point_to_byte("aé", 3), std::nullopt);
}

TEST(SquadReader, ReadsV2UnanswerableQuestions) {
  TempDir dir;
  json impossible = question("n1", "Who lost?", json::array());
  impossible["is_impossible"] = true;
  impossible["plausible_answers"] = json::array({answer("Panthers", 4)});
  json answerable = question("h1", "Who won?", json::array({answer("Broncos", 4)}));
  answerable["is_impossible"] = false;
  json bare = question("n2", "When?", json::array());  // v2 without is_impossible: no answers = unanswerable
  const json doc = squad(json::array({paragraph("The Broncos won.", json::array({impossible, answerable, bare}))}));
  const auto rows = load_squad_file(put(dir, "v2.json", doc.dump()));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[0].answers.empty());
  EXPECT_TRUE(rows[0].has_label);
  EXPECT_EQ(rows[1].answers.at(0).start, 4);
  EXPECT_TRUE(rows[2].answers.empty());
}

TEST(SquadReader, AnswerStartPointingElsewhereNamesFileIdAndPlace) {
  TempDir dir;
  const json doc = squad(json::array(
      {paragraph("The Denver Broncos beat the Carolina Panthers.",
                 json::array({question("ok", "Who?", json::array({answer("Denver Broncos", 4)})),
                              question("56be4db0acb8001400a502ec", "Who lost?",
                                       json::array({answer("Carolina Panthers", 4)}))}))}));
  const auto file = put(dir, "dev.json", doc.dump());
  const std::string e = error_of([&] { load_squad_file(file); });
  EXPECT_TRUE(contains(e, file.string() + ": question '56be4db0acb8001400a502ec' (data[0].paragraphs[0].qas[1]): "
                           "answers[0].answer_start 4 points at 'Denver Broncos be' in the context, not at the "
                           "answer's text 'Carolina Panthers' (found at character 28)"))
      << e;

  const json past = squad(json::array({paragraph("short", json::array({question("p", "?", json::array({answer("x", 9)}))}))}));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "past.json", past.dump())); }),
                       "question 'p' (data[0].paragraphs[0].qas[0]): answers[0].answer_start 9 is past the context's "
                       "end (5 characters)"));
  const json absent = squad(json::array({paragraph("abc", json::array({question("q", "?", json::array({answer("zz", 0)}))}))}));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "absent.json", absent.dump())); }),
                       "(the context does not contain that text)"));
  // A character offset counted in bytes is the classic mistake: é is one character.
  const json bytes = squad(json::array({paragraph("Café Zürich", json::array({question("b", "?", json::array({answer("Zürich", 6)}))}))}));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "bytes.json", bytes.dump())); }),
                       "answers[0].answer_start 6 points at 'ürich' in the context, not at the answer's text 'Zürich' "
                       "(found at character 5)"));
}

TEST(SquadReader, RejectsMalformedQuestionsWithTheirPlace) {
  TempDir dir;
  auto error_for = [&](const json& q) {
    return error_of([&] { load_squad_file(put(dir, "bad.json", squad(json::array({paragraph("The cat.", json::array({q}))})).dump())); });
  };
  const std::string where = "bad.json: data[0].paragraphs[0].qas[0]: ";
  EXPECT_TRUE(contains(error_for(json{{"question", "?"}, {"answers", json::array()}}), where + "has no 'id'"));
  EXPECT_TRUE(contains(error_for(json{{"id", 7}, {"question", "?"}, {"answers", json::array()}}),
                       where + "'id' is not a string (got number)"));
  EXPECT_TRUE(contains(error_for(json{{"id", "x"}, {"answers", json::array()}}),
                       "bad.json: question 'x' (data[0].paragraphs[0].qas[0]): has no 'question'"));
  EXPECT_TRUE(contains(error_for(json{{"id", "x"}, {"question", "?"}}), "question 'x' (data[0].paragraphs[0].qas[0]): has no 'answers'"));
  EXPECT_TRUE(contains(error_for(json{{"id", "x"}, {"question", "?"}, {"answers", "cat"}}), "'answers' is not a list (got string)"));
  EXPECT_TRUE(contains(error_for(question("x", "?", json::array({json{{"text", "cat"}}}))), "answers[0]: has no 'answer_start'"));
  EXPECT_TRUE(contains(error_for(question("x", "?", json::array({json{{"text", "cat"}, {"answer_start", "4"}}}))),
                       "answers[0].answer_start is not an integer (got string \"4\")"));
  EXPECT_TRUE(contains(error_for(question("x", "?", json::array({answer("cat", -1)}))), "answers[0].answer_start is negative (-1)"));
  EXPECT_TRUE(contains(error_for(question("x", "?", json::array({answer("", 0)}))), "answers[0].text is empty"));
  json both = question("x", "?", json::array({answer("cat", 4)}));
  both["is_impossible"] = true;
  EXPECT_TRUE(contains(error_for(both), "is_impossible is true but the question has 1 answer"));
  json neither = question("x", "?", json::array());
  neither["is_impossible"] = false;
  EXPECT_TRUE(contains(error_for(neither), "is_impossible is false but 'answers' is empty"));
  json plausible = question("x", "?", json::array());
  plausible["plausible_answers"] = json::array({json{{"text", 3}, {"answer_start", 0}}});
  EXPECT_TRUE(contains(error_for(plausible), "plausible_answers[0]: 'text' is not a string (got number)"));

  const json no_context = squad(json::array({json{{"qas", json::array()}}}));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "c.json", no_context.dump())); }),
                       "c.json: data[0].paragraphs[0]: has no 'context'"));
  const json empty_context = squad(json::array({paragraph("", json::array())}));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "c.json", empty_context.dump())); }), "'context' is empty"));
  const json bad_article = {{"data", json::array({{{"title", "T"}, {"paragraphs", 3}}})}};
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "a.json", bad_article.dump())); }),
                       "a.json: data[0]: 'paragraphs' is not a list (got number)"));
}

TEST(SquadReader, DuplicateIdsAreErrors) {
  TempDir dir;
  const json doc = squad(json::array({paragraph("The cat sat.", json::array({question("same", "?", json::array({answer("cat", 4)})),
                                                                            question("same", "!", json::array({answer("sat", 8)}))}))}));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "d.json", doc.dump())); }),
                       "d.json: question 'same' (data[0].paragraphs[0].qas[1]): duplicate id (first at "
                       "data[0].paragraphs[0].qas[0])"));
}

TEST(SquadReader, FileLevelErrorsNameLineAndColumn) {
  TempDir dir;
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "u.json", "{\"data\": [\n  \"\xff\"]}")); }),
                       "u.json:2:4: invalid UTF-8"));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "j.json", "{\"data\": [\n  {]}")); }), "j.json:2:4: not valid JSON"));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "l.json", "[]")); }),
                       "l.json: expected a SQuAD JSON object with a 'data' list, got a JSON array"));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(put(dir, "n.json", "{\"version\": \"2.0\"}")); }),
                       "n.json: expected a SQuAD JSON object with a 'data' list of articles (the object has no 'data')"));
  EXPECT_TRUE(contains(error_of([&] { load_squad_file(dir / "missing.json"); }), "missing.json"));
}

TEST(SquadReader, SkipBadRowsCountsAndSkips) {
  TempDir dir;
  const json doc = squad(json::array(
      {paragraph("The cat sat.", json::array({question("good", "?", json::array({answer("cat", 4)})),
                                             question("wrong", "?", json::array({answer("cat", 0)})),
                                             question("good", "?", json::array({answer("sat", 8)})),
                                             json{{"id", "noq"}}})),
       json{{"context", 5}, {"qas", json::array()}},
       paragraph("A dog.", json::array({question("dog", "?", json::array({answer("dog", 2)}))}))}));
  const auto file = put(dir, "s.json", doc.dump());
  LoadOptions skip;
  skip.skip_bad_rows = true;
  const auto rows = load_squad_file(file, skip);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, "good");
  EXPECT_EQ(rows[1].id, "dog");
  EXPECT_FALSE(error_of([&] { load_squad_file(file); }).empty());
}

TEST(SquadReader, TestFilesNeedNoAnswers) {
  TempDir dir;
  const json doc = squad(json::array({paragraph("The cat sat.", json::array({json{{"id", "t1"}, {"question", "Who?"}},
                                                                            question("t2", "?", json::array({answer("zzz", 0)}))}))}));
  const auto rows = load_squad_file(put(dir, "test.json", doc.dump()), {}, /*labelled=*/false);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_FALSE(rows[0].has_label);
  EXPECT_TRUE(rows[1].answers.empty());  // not read (nor checked) in a test file
}

TEST(SquadReader, TaskNames) {
  EXPECT_EQ(squad_task_name("SQuAD"), "squad");
  EXPECT_EQ(squad_task_name("squad1.1"), "squad");
  EXPECT_EQ(squad_task_name("squad-v2"), "squad_v2");
  EXPECT_EQ(squad_task_name("SQuAD2.0"), "squad_v2");
  EXPECT_EQ(squad_task_name("squad_v3"), std::nullopt);
  EXPECT_EQ(squad_task_name("rte"), std::nullopt);
}

}  // namespace
}  // namespace lightpeft
