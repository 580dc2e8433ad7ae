// Malformed rows: the exact "<file>:<line>: <what>" error, or with skip_bad_rows a count; missing
// files name the paths tried and the tasks.
#include <gtest/gtest.h>

#include "data_test_util.h"
#include "lightpeft/data/glue.h"
#include "lightpeft/data/text_file.h"

namespace lightpeft {
namespace {

using testing::error_of;
using testing::put;
using testing::TempDir;

const char* kRteHeader = "index\tsentence1\tsentence2\tlabel\n";

TEST(BadRows, WrongColumnCountNamesFileAndLine) {
  TempDir dir;
  const auto file = put(dir, "RTE/dev.tsv",
                        std::string(kRteHeader) + "0\tA.\tB.\tentailment\n1\tA.\tentailment\n");
  EXPECT_EQ(error_of([&] { load_task_split("rte", dir.path(), Split::dev); }),
            file.string() + ":3: expected 4 tab-separated columns, got 3");
}

TEST(BadRows, UnknownLabel) {
  TempDir dir;
  const auto file = put(dir, "RTE/dev.tsv", std::string(kRteHeader) + "0\tA.\tB.\tmaybe\n");
  EXPECT_EQ(error_of([&] { load_task_split("rte", dir.path(), Split::dev); }),
            file.string() + ":2: unknown label 'maybe' (expected entailment, not_entailment)");
}

TEST(BadRows, BadRegressionTargetAndIndex) {
  TempDir dir;
  const std::string header =
      "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n";
  const auto file = put(dir, "STS-B/dev.tsv", header + "0\tg\tf\ty\to\ts\ts\tA.\tB.\tfive\n");
  EXPECT_EQ(error_of([&] { load_task_split("stsb", dir.path(), Split::dev); }),
            file.string() + ":2: label 'five' is not a number (regression task)");
  const auto rte = put(dir, "RTE/dev.tsv", std::string(kRteHeader) + "x\tA.\tB.\tentailment\n");
  EXPECT_EQ(error_of([&] { load_task_split("rte", dir.path(), Split::dev); }),
            rte.string() + ":2: index 'x' is not an integer");
}

TEST(BadRows, InvalidUtf8IsABadRow) {
  TempDir dir;
  const auto file = put(dir, "SST-2/train.tsv", "sentence\tlabel\ngood\t1\nbad \xC3\x28 byte\t0\n");
  EXPECT_EQ(error_of([&] { load_task_split("sst2", dir.path(), Split::train); }),
            file.string() + ":3: invalid UTF-8");
}

TEST(BadRows, MissingHeaderColumn) {
  TempDir dir;
  const auto file = put(dir, "RTE/dev.tsv", "index\tsentence\tlabel\n0\tA.\tentailment\n");
  EXPECT_EQ(error_of([&] { load_task_split("rte", dir.path(), Split::dev); }),
            file.string() + ":1: header has no column 'sentence1' (columns: index, sentence, label)");
}

TEST(BadRows, SkipBadRowsCountsAndKeepsTheRest) {
  TempDir dir;
  put(dir, "RTE/train.tsv", std::string(kRteHeader) +
                                "0\tA.\tB.\tentailment\n"
                                "1\tonly two\n"
                                "2\tC.\tD.\tmaybe\n"
                                "3\t\xFF\tE.\tentailment\n"
                                "4\tF.\tG.\tnot_entailment\n");
  LoadOptions options;
  options.skip_bad_rows = true;
  const auto ex = load_task_split("rte", dir.path(), Split::train, options);
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(ex[0].index, 0);
  EXPECT_EQ(ex[1].index, 4);
  EXPECT_EQ(ex[1].line, 6);
}

TEST(BadRows, BadRowsCounterApi) {
  LoadOptions options;
  options.skip_bad_rows = true;
  BadRows bad("x.tsv", options);
  bad.bad(3, "one");
  bad.bad(9, "two");
  EXPECT_EQ(bad.count(), 2);
  EXPECT_EQ(bad.finish(), 2);
  BadRows strict("x.tsv", LoadOptions{});
  EXPECT_EQ(error_of([&] { strict.bad(4, "what"); }), "x.tsv:4: what");
}

TEST(BadRows, JsonlRows) {
  TempDir dir;
  const auto file = put(dir, "CB/val.jsonl",
                        "{\"premise\": \"P\", \"hypothesis\": \"H\", \"label\": \"neutral\", \"idx\": 0}\n"
                        "{\"premise\": \"P\", \"label\": \"neutral\", \"idx\": 1}\n"
                        "{not json\n"
                        "{\"premise\": \"P\", \"hypothesis\": \"H\", \"label\": \"maybe\", \"idx\": 3}\n");
  EXPECT_EQ(error_of([&] { load_task_split("cb", dir.path(), Split::dev); }),
            file.string() + ":2: missing field 'hypothesis'");
  LoadOptions options;
  options.skip_bad_rows = true;
  EXPECT_EQ(load_task_split("cb", dir.path(), Split::dev, options).size(), 1u);
  put(dir, "CB/train.jsonl",
      "{\"premise\": \"P\", \"hypothesis\": \"H\", \"label\": \"maybe\", \"idx\": 3}\n");
  EXPECT_EQ(error_of([&] { load_task_split("cb", dir.path(), Split::train); }),
            (dir.path() / "CB/train.jsonl").string() +
                ":1: unknown label 'maybe' (expected entailment, contradiction, neutral)");
}

TEST(BadRows, MaxExamples) {
  TempDir dir;
  put(dir, "RTE/train.tsv", std::string(kRteHeader) + "0\tA.\tB.\tentailment\n1\tC.\tD.\tentailment\n");
  LoadOptions options;
  options.max_examples = 1;
  EXPECT_EQ(load_task_split("rte", dir.path(), Split::train, options).size(), 1u);
}

TEST(MissingFiles, NamesPathsAndTasks) {
  TempDir dir;
  put(dir, "RTE/train.tsv", std::string(kRteHeader));
  put(dir, "RTE/dev.tsv", std::string(kRteHeader));
  const std::string err = error_of([&] { load_task_split("qnli", dir.path(), Split::train); });
  EXPECT_NE(err.find("qnli (glue) train split: file not found"), std::string::npos) << err;
  EXPECT_NE(err.find((dir.path() / "QNLI" / "train.tsv").string()), std::string::npos) << err;

  EXPECT_NO_THROW(check_task_files({"rte"}, dir.path(), {Split::train, Split::dev}));
  const std::string all = error_of(
      [&] { check_task_files({"rte", "qnli", "mnli"}, dir.path(), {Split::train, Split::dev_mismatched}); });
  EXPECT_NE(all.find("missing data files under"), std::string::npos) << all;
  EXPECT_NE(all.find("qnli (glue) train"), std::string::npos) << all;
  EXPECT_NE(all.find("mnli (glue) dev_mismatched"), std::string::npos) << all;
  EXPECT_EQ(all.find("rte (glue)"), std::string::npos) << all;
}

}  // namespace
}  // namespace lightpeft
