// Metrics against values computed once with scikit-learn 1.9.1 / SciPy 1.17.1 in the project venv
// (/root/.cache/lightpeft/venv/bin/python); the python line is next to each expectation.
#include <cmath>

#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/data/glue.h"
#include "lightpeft/data/metrics.h"

namespace lightpeft {
namespace {

const std::vector<int64_t> kY = {1, 0, 1, 1, 0, 1, 0, 0, 1, 1};
const std::vector<int64_t> kP = {1, 0, 0, 1, 0, 1, 1, 0, 1, 0};

TEST(Metrics, BinaryMatchesSklearn) {
  // accuracy_score(y, q), f1_score(y, q), matthews_corrcoef(y, q) with y = kY, q = kP
  EXPECT_DOUBLE_EQ(accuracy(kP, kY), 0.7);
  EXPECT_NEAR(f1_binary(kP, kY), 0.7272727272727273, 1e-12);
  EXPECT_NEAR(matthews(kP, kY), 0.408248290463863, 1e-12);
}

TEST(Metrics, MulticlassMatchesSklearn) {
  const std::vector<int64_t> y = {0, 1, 2, 0, 1, 2, 0, 0, 2, 1, 1, 0};
  const std::vector<int64_t> p = {0, 2, 2, 0, 1, 1, 0, 1, 2, 1, 0, 0};
  // accuracy_score(y, p), f1_score(y, p, average='macro'), matthews_corrcoef(y, p)
  EXPECT_NEAR(accuracy(p, y), 0.6666666666666666, 1e-12);
  EXPECT_NEAR(f1_macro(p, y), 0.6555555555555556, 1e-12);
  EXPECT_NEAR(matthews(p, y), 0.48936170212765956, 1e-12);
  // f1_score([0,0,1,2], [0,0,2,2], average='macro'): class 1 occurs only in the labels, counts as 0
  EXPECT_NEAR(f1_macro({0, 0, 2, 2}, {0, 0, 1, 2}), 0.5555555555555555, 1e-12);
}

TEST(Metrics, CorrelationsMatchScipy) {
  const std::vector<double> x = {0.5, 2.0, 3.5, 1.0, 4.8, 2.0, 3.0, 0.0};
  const std::vector<double> z = {1.0, 1.5, 4.0, 1.0, 5.0, 2.5, 2.5, 0.2};
  // pearsonr(x, z)[0], spearmanr(x, z)[0]
  EXPECT_NEAR(pearson(x, z), 0.9667386887488811, 1e-12);
  EXPECT_NEAR(spearman(x, z), 0.9757754965005869, 1e-12);
  // rankdata([3,1,4,1,5,9,2,6,5,3])
  const std::vector<double> expected = {4.5, 1.5, 6.0, 1.5, 7.5, 10.0, 3.0, 9.0, 7.5, 4.5};
  EXPECT_EQ(average_ranks({3, 1, 4, 1, 5, 9, 2, 6, 5, 3}), expected);
}

TEST(Metrics, EdgeCases) {
  // matthews_corrcoef([1,1,1],[1,0,1]) == matthews_corrcoef([1,1,1],[1,1,1]) == 0.0
  EXPECT_EQ(matthews({1, 0, 1}, {1, 1, 1}), 0.0);
  EXPECT_EQ(matthews({1, 1, 1}, {1, 1, 1}), 0.0);
  // f1_score([0,0,0],[0,0,0]) == 0.0 (no positives at all; sklearn warns and returns 0)
  EXPECT_EQ(f1_binary({0, 0, 0}, {0, 0, 0}), 0.0);
  // pearsonr([1,1,1],[1,2,3]) and spearmanr(...) are nan (ConstantInputWarning)
  EXPECT_TRUE(std::isnan(pearson({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(spearman({1, 1, 1}, {1, 2, 3})));
  // compute_metrics reports an undefined correlation as 0 (decision documented in metrics.h).
  const MetricResult r = regression_metrics("pearson_spearman", {2, 2, 2}, {1, 2, 3});
  EXPECT_EQ(r.values.at("pearson"), 0.0);
  EXPECT_EQ(r.values.at("combined_score"), 0.0);
  EXPECT_THROW(accuracy({1, 0}, {1}), Error);
  EXPECT_THROW(accuracy({}, {}), Error);
}

TEST(Metrics, TaskConventions) {
  const std::vector<double> p(kP.begin(), kP.end()), y(kY.begin(), kY.end());
  const MetricResult mrpc = compute_metrics(task_spec("mrpc"), p, y);
  EXPECT_EQ(mrpc.headline, "combined_score");
  EXPECT_NEAR(mrpc.headline_value(), (0.7 + 0.7272727272727273) / 2, 1e-12);
  const MetricResult cola = compute_metrics(task_spec("cola"), p, y);
  EXPECT_EQ(cola.headline, "matthews");
  EXPECT_NEAR(cola.headline_value(), 0.408248290463863, 1e-12);
  EXPECT_EQ(compute_metrics(task_spec("rte"), p, y).headline, "accuracy");
  EXPECT_EQ(compute_metrics(task_spec("qqp"), p, y).values.count("f1"), 1u);

  const std::vector<double> x = {0.5, 2.0, 3.5, 1.0, 4.8, 2.0, 3.0, 0.0};
  const std::vector<double> z = {1.0, 1.5, 4.0, 1.0, 5.0, 2.5, 2.5, 0.2};
  const MetricResult stsb = compute_metrics(task_spec("stsb"), x, z);
  EXPECT_EQ(stsb.headline, "combined_score");
  EXPECT_NEAR(stsb.headline_value(), (0.9667386887488811 + 0.9757754965005869) / 2, 1e-12);

  const MetricResult cb = compute_metrics(task_spec("cb"), {0, 0, 2, 2}, {0, 0, 1, 2});
  EXPECT_EQ(cb.headline, "combined_score");
  EXPECT_NEAR(cb.values.at("macro_f1"), 0.5555555555555555, 1e-12);
  EXPECT_NEAR(cb.values.at("accuracy"), 0.75, 1e-12);

  // MultiRC: F1 over answers, EM over questions (groups).
  const MetricResult mrc =
      classification_metrics("f1", {1, 0, 1, 1, 0}, {1, 0, 0, 1, 0}, {7, 7, 8, 8, 9});
  EXPECT_EQ(mrc.headline, "f1");
  EXPECT_NEAR(mrc.values.at("exact_match"), 2.0 / 3.0, 1e-12);
  EXPECT_THROW(classification_metrics("bleu", {1}, {1}), Error);
}

}  // namespace
}  // namespace lightpeft
