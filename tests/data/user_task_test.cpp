// CSV parsing (quotes, escaped quotes, embedded newlines) and user CSV/TSV/JSONL tasks.
#include <gtest/gtest.h>

#include "data_test_util.h"
#include "lightpeft/data/csv.h"
#include "lightpeft/data/user_task.h"

namespace lightpeft {
namespace {

using testing::error_of;
using testing::put;
using testing::TempDir;

TEST(Csv, QuotesEscapesAndEmbeddedNewlines) {
  const auto recs = parse_csv(
      "text,label\r\n"
      "plain,1\n"
      "\"with, comma\",0\n"
      "\"she said \"\"hi\"\"\",1\n"
      "\"two\nlines\",0\n"
      "\n"
      "a\"b,1\n"
      ",\n"
      "last,1");
  ASSERT_EQ(recs.size(), 8u);
  EXPECT_EQ(recs[0].fields, (std::vector<std::string>{"text", "label"}));
  EXPECT_EQ(recs[1].fields, (std::vector<std::string>{"plain", "1"}));
  EXPECT_EQ(recs[2].fields[0], "with, comma");
  EXPECT_EQ(recs[3].fields[0], "she said \"hi\"");
  EXPECT_EQ(recs[4].fields[0], "two\nlines");
  EXPECT_EQ(recs[4].line, 5);
  EXPECT_EQ(recs[5].fields[0], "a\"b");  // literal quote inside an unquoted field
  EXPECT_EQ(recs[5].line, 8);            // the blank line 7 gives no record
  EXPECT_EQ(recs[6].fields, (std::vector<std::string>{"", ""}));
  EXPECT_EQ(recs[7].fields, (std::vector<std::string>{"last", "1"}));
  EXPECT_EQ(recs[7].line, 10);
  for (const auto& r : recs) EXPECT_TRUE(r.error.empty()) << r.error;
}

TEST(Csv, MalformedRecords) {
  const auto recs = parse_csv("a,b\n\"x\"y,1\nok,2\n\"open,3\n");
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[1].error, "unexpected character after a closing quote");
  EXPECT_EQ(recs[2].fields, (std::vector<std::string>{"ok", "2"}));  // resynchronised
  EXPECT_EQ(recs[3].error, "unterminated quoted field (opened on line 4)");
  const auto tsv = parse_csv("a\tb\n\"x\ty\"\t1\n", '\t');
  EXPECT_EQ(tsv[1].fields, (std::vector<std::string>{"x\ty", "1"}));
}

UserTaskSpec pair_spec() {
  UserTaskSpec s;
  s.name = "nli";
  s.text_column = "premise";
  s.text_pair_column = "hypothesis";
  s.label_column = "gold";
  s.label_names = {"yes", "no"};
  return s;
}

TEST(UserTask, CsvWithMapping) {
  TempDir dir;
  const auto file = put(dir, "train.csv",
                        "id,premise,hypothesis,gold\n"
                        "1,\"A man, tall\",\"He is \"\"tall\"\"\",yes\n"
                        "2,\"Line one\nline two\",Short,no\n");
  const auto ex = load_user_file(file, pair_spec());
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].text, "A man, tall");
  EXPECT_EQ(*ex[0].text_pair, "He is \"tall\"");
  EXPECT_EQ(ex[0].label, 0.0f);
  EXPECT_EQ(ex[1].text, "Line one\nline two");
  EXPECT_EQ(ex[1].label, 1.0f);
  EXPECT_EQ(ex[1].line, 3);
  EXPECT_EQ(infer_label_names(file, pair_spec()), (std::vector<std::string>{"no", "yes"}));
}

TEST(UserTask, BadRowsAndMissingColumns) {
  TempDir dir;
  const auto file = put(dir, "dev.csv", "premise,hypothesis,gold\nA,B,yes\nC,D\nE,F,maybe\n");
  EXPECT_EQ(error_of([&] { load_user_file(file, pair_spec()); }),
            file.string() + ":3: expected 3 comma-separated columns, got 2");
  LoadOptions skip;
  skip.skip_bad_rows = true;
  EXPECT_EQ(load_user_file(file, pair_spec(), skip).size(), 1u);
  const auto bad_label = put(dir, "l.csv", "premise,hypothesis,gold\nE,F,maybe\n");
  EXPECT_EQ(error_of([&] { load_user_file(bad_label, pair_spec()); }),
            bad_label.string() + ":2: unknown label 'maybe' (expected yes, no)");
  const auto no_col = put(dir, "c.csv", "text,gold\nA,yes\n");
  EXPECT_EQ(error_of([&] { load_user_file(no_col, pair_spec()); }),
            no_col.string() + ":1: no column 'premise' (columns: text, gold)");
}

TEST(UserTask, TsvRegressionAndUnlabelled) {
  TempDir dir;
  UserTaskSpec s;
  s.text_column = "sentence";
  s.label_column = "score";
  s.regression = true;
  const auto file = put(dir, "train.tsv", "sentence\tscore\nnice\t0.75\nbad\t-1.5\n");
  const auto ex = load_user_file(file, s);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_FLOAT_EQ(ex[1].label, -1.5f);
  EXPECT_EQ(user_task_spec(s).metric, "pearson_spearman");
  EXPECT_EQ(user_task_spec(s).num_outputs(), 1);
  const auto test = put(dir, "test.tsv", "sentence\nwhat\n");
  const auto unl = load_user_file(test, s);
  ASSERT_EQ(unl.size(), 1u);
  EXPECT_FALSE(unl[0].has_label);
}

TEST(UserTask, Jsonl) {
  TempDir dir;
  UserTaskSpec s;
  s.label_names = {"False", "True"};
  const auto file = put(dir, "train.jsonl",
                        "{\"text\": \"a\", \"label\": true}\n\n{\"text\": \"b\", \"label\": false}\n"
                        "{\"text\": 3, \"label\": true}\n");
  EXPECT_EQ(error_of([&] { load_user_file(file, s); }),
            file.string() + ":4: missing or non-text value in column 'text'");
  LoadOptions skip;
  skip.skip_bad_rows = true;
  const auto ex = load_user_file(file, s, skip);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].label, 1.0f);
  EXPECT_EQ(ex[1].line, 3);
  UserTaskSpec ints;
  ints.label_names = {"0", "1", "2"};
  const auto f2 = put(dir, "ints.jsonl", "{\"text\": \"a\", \"label\": 2}\n");
  EXPECT_EQ(load_user_file(f2, ints).at(0).label, 2.0f);
}

TEST(UserTask, SpecValidation) {
  UserTaskSpec s;  // classification without label names
  EXPECT_NE(error_of([&] { user_task_spec(s); }).find("needs label_names"), std::string::npos);
  s.label_names = {"a", "a"};
  EXPECT_NE(error_of([&] { user_task_spec(s); }).find("duplicates"), std::string::npos);
  s.label_names = {"a", "b"};
  s.metric = "pearson";
  EXPECT_NE(error_of([&] { user_task_spec(s); }).find("does not fit"), std::string::npos);
  s.metric = "matthews";
  EXPECT_EQ(user_task_spec(s).metric, "matthews");
  EXPECT_NE(error_of([&] { load_user_file("data.xlsx", s); }).find("cannot tell the format"),
            std::string::npos);
}

}  // namespace
}  // namespace lightpeft
