#pragma once
// Evaluation metrics, torch-free, matching scikit-learn / SciPy:
//   accuracy            sklearn.metrics.accuracy_score
//   f1_binary           sklearn.metrics.f1_score(average="binary", pos_label=1); 0 when undefined
//   f1_macro            sklearn.metrics.f1_score(average="macro"): mean over the classes that occur
//                       in labels or predictions (SuperGLUE's CB F1)
//   matthews            sklearn.metrics.matthews_corrcoef (multiclass form); 0 when undefined
//   pearson, spearman   scipy.stats.pearsonr / spearmanr (average ranks for ties); NaN when an
//                       input is constant, as SciPy returns
//
// compute_metrics() applies a task's GLUE/SuperGLUE convention and names the headline:
//   "accuracy"          accuracy
//   "f1"                f1 (+ accuracy; + exact_match when groups are given, MultiRC's EM)
//   "matthews"          matthews (+ accuracy)
//   "accuracy_f1"       accuracy, f1, combined_score = mean of the two (MRPC, QQP: GLUE's score)
//   "accuracy_macro_f1" accuracy, macro_f1, combined_score (CB: SuperGLUE averages the two)
//   "pearson_spearman"  pearson, spearman, combined_score (STS-B: GLUE's score)
//   "pearson"/"spearman" both, headline the named one
// The headline is combined_score where the benchmark reports two numbers, else the single metric.
// Decision on undefined correlations: a constant prediction vector has no correlation with the
// labels, so compute_metrics reports an undefined (NaN) Pearson/Spearman as 0 and logs a warning;
// this keeps results.json valid JSON and best-checkpoint comparisons well defined. The raw
// pearson()/spearman() functions return NaN like SciPy.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "lightpeft/data/example.h"

namespace lightpeft {

// All take equal-length, non-empty vectors (lightpeft::Error otherwise).
double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);
double f1_binary(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                 int64_t positive = 1);
double f1_macro(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);
double matthews(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels);
double pearson(const std::vector<double>& x, const std::vector<double>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);
// 1-based ranks with ties given their average rank (scipy.stats.rankdata(method="average")).
std::vector<double> average_ranks(const std::vector<double>& values);
// MultiRC EM: the fraction of groups (questions) whose answers are all predicted right.
double exact_match_by_group(const std::vector<int64_t>& predictions,
                            const std::vector<int64_t>& labels, const std::vector<int64_t>& groups);

struct MetricResult {
  std::map<std::string, double> values;
  std::string headline;
  double headline_value() const;
};

// `metric` is a TaskSpec::metric string. Classification predictions/labels are class ids.
MetricResult classification_metrics(const std::string& metric, const std::vector<int64_t>& predictions,
                                    const std::vector<int64_t>& labels,
                                    const std::vector<int64_t>& groups = {});
MetricResult regression_metrics(const std::string& metric, const std::vector<double>& predictions,
                                const std::vector<double>& labels);
// Dispatches on task.regression; for classification the values are rounded to class ids.
MetricResult compute_metrics(const TaskSpec& task, const std::vector<double>& predictions,
                             const std::vector<double>& labels,
                             const std::vector<int64_t>& groups = {});

}  // namespace lightpeft
