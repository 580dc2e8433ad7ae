// The real GLUE/SuperGLUE files in ../shared/data: row counts and label distributions as its README
// states them (skipped with a message where ../shared is absent).
#include <map>

#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/data/glue.h"
#include "test_support.h"

namespace lightpeft {
namespace {

// label name -> count
std::map<std::string, int64_t> distribution(const std::string& task,
                                            const std::vector<Example>& examples) {
  const TaskSpec spec = task_spec(task);
  std::map<std::string, int64_t> counts;
  for (const auto& e : examples) {
    EXPECT_TRUE(e.has_label);
    counts[spec.label_names.at(static_cast<size_t>(e.label))]++;
  }
  return counts;
}

using Counts = std::map<std::string, int64_t>;

struct Case {
  const char* task;
  Split split;
  size_t rows;
  Counts labels;  // empty: unlabelled or regression
};

class RealData : public ::testing::TestWithParam<Case> {};

TEST_P(RealData, RowsAndLabels) {
  LP_REQUIRE_SHARED(shared);
  const Case& c = GetParam();
  const auto data = shared / "data";
  const auto examples = load_task_split(c.task, data, c.split);
  EXPECT_EQ(examples.size(), c.rows);
  if (!c.labels.empty()) {
    EXPECT_EQ(distribution(c.task, examples), c.labels);
  }
  if (c.split == Split::test) {
    for (const auto& e : examples) ASSERT_FALSE(e.has_label);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Shared, RealData,
    ::testing::Values(
        Case{"cola", Split::train, 8551, {{"1", 6023}, {"0", 2528}}},
        Case{"cola", Split::dev, 1043, {{"1", 719}, {"0", 324}}},
        Case{"sst2", Split::train, 67349, {{"1", 37569}, {"0", 29780}}},
        Case{"sst2", Split::dev, 872, {{"1", 444}, {"0", 428}}},
        Case{"sst2", Split::test, 1821, {}},
        Case{"mrpc", Split::train, 3668, {{"1", 2474}, {"0", 1194}}},
        Case{"mrpc", Split::dev, 408, {{"1", 279}, {"0", 129}}},
        Case{"mrpc", Split::test, 1725, {}},
        Case{"stsb", Split::train, 5749, {}},
        Case{"stsb", Split::dev, 1500, {}},
        Case{"stsb", Split::test, 1379, {}},
        Case{"qnli", Split::dev, 5463, {{"entailment", 2702}, {"not_entailment", 2761}}},
        Case{"qnli", Split::test, 5463, {}},
        Case{"rte", Split::train, 2490, {{"entailment", 1249}, {"not_entailment", 1241}}},
        Case{"rte", Split::dev, 277, {{"entailment", 146}, {"not_entailment", 131}}},
        Case{"rte", Split::test, 3000, {}},
        Case{"wnli", Split::train, 635, {{"0", 323}, {"1", 312}}},
        Case{"wnli", Split::dev, 71, {{"0", 40}, {"1", 31}}},
        Case{"cb", Split::train, 250, {{"contradiction", 119}, {"entailment", 115}, {"neutral", 16}}},
        Case{"cb", Split::dev, 56, {{"contradiction", 28}, {"entailment", 23}, {"neutral", 5}}},
        Case{"cb", Split::test, 250, {}},
        Case{"superglue-rte", Split::train, 2490, {{"entailment", 1249}, {"not_entailment", 1241}}},
        Case{"superglue-rte", Split::dev, 277, {{"entailment", 146}, {"not_entailment", 131}}},
        Case{"superglue-rte", Split::test, 3000, {}}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = std::string(info.param.task) + "_" + split_name(info.param.split);
      for (char& ch : name) {
        if (ch == '-') ch = '_';
      }
      return name;
    });

TEST(RealDataDetails, StsbScoresInRange) {
  LP_REQUIRE_SHARED(shared);
  const auto dev = load_task_split("stsb", shared / "data", Split::dev);
  ASSERT_EQ(dev.size(), 1500u);
  EXPECT_FLOAT_EQ(dev[0].label, 5.0f);  // "A man with a hard hat is dancing." ... 5.000
  EXPECT_FLOAT_EQ(dev[1].label, 4.75f);
  for (const auto& e : dev) {
    ASSERT_GE(e.label, 0.0f);
    ASSERT_LE(e.label, 5.0f);
    ASSERT_TRUE(e.text_pair);
  }
}

TEST(RealDataDetails, FirstRowsAsInTheFiles) {
  LP_REQUIRE_SHARED(shared);
  const auto mrpc = load_task_split("mrpc", shared / "data", Split::train);
  EXPECT_EQ(mrpc.at(0).text.substr(0, 6), "Amrozi");  // header with BOM was skipped
  EXPECT_EQ(mrpc.at(0).line, 2);
  const auto cola = load_task_split("cola", shared / "data", Split::dev);
  EXPECT_EQ(cola.at(0).text, "The sailors rode the breeze clear of the rocks.");
  EXPECT_EQ(cola.back().line, 1043);  // no header; the last line has no newline
  const auto cb = load_task_split("cb", shared / "data", Split::dev);
  EXPECT_EQ(cb.at(0).text_pair.value(), "Valence was helping");
}

TEST(RealDataDetails, MissingTrainFilesAreReported) {
  LP_REQUIRE_SHARED(shared);
  // QNLI/MNLI/QQP train are not in ../shared (see its README).
  try {
    check_task_files({"rte", "qnli", "mnli", "qqp"}, shared / "data", {Split::train});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("qnli (glue) train"), std::string::npos) << msg;
    EXPECT_NE(msg.find("mnli (glue) train"), std::string::npos) << msg;
    EXPECT_NE(msg.find("qqp (glue) train"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("rte (glue)"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace lightpeft
