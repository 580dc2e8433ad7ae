#include "lightpeft/data/metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <set>

#include "lightpeft/core/error.h"
#include "lightpeft/core/log.h"

namespace lightpeft {

namespace {

template <typename A, typename B>
void check_sizes(const std::vector<A>& a, const std::vector<B>& b, const char* what) {
  LP_CHECK(a.size() == b.size(), what, ": ", a.size(), " predictions but ", b.size(), " labels");
  LP_CHECK(!a.empty(), what, ": no examples");
}

// F1 of one class from its counts; 0 where precision and recall are both undefined (sklearn's
// zero_division default).
double f1_from_counts(int64_t tp, int64_t fp, int64_t fn) {
  const int64_t denom = 2 * tp + fp + fn;
  return denom == 0 ? 0.0 : 2.0 * static_cast<double>(tp) / static_cast<double>(denom);
}

double f1_of_class(const std::vector<int64_t>& p, const std::vector<int64_t>& y, int64_t c) {
  int64_t tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < p.size(); ++i) {
    tp += (p[i] == c && y[i] == c);
    fp += (p[i] == c && y[i] != c);
    fn += (p[i] != c && y[i] == c);
  }
  return f1_from_counts(tp, fp, fn);
}

double mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

// NaN (undefined correlation) -> 0 with a warning; see the decision in metrics.h.
double defined_or_zero(double value, const char* name) {
  if (std::isnan(value)) {
    log::warn(name, " is undefined (constant predictions or labels); reported as 0");
    return 0.0;
  }
  return value;
}

}  // namespace

double accuracy(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_sizes(predictions, labels, "accuracy");
  int64_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += predictions[i] == labels[i];
  return static_cast<double>(right) / static_cast<double>(labels.size());
}

double f1_binary(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels,
                 int64_t positive) {
  check_sizes(predictions, labels, "f1");
  return f1_of_class(predictions, labels, positive);
}

double f1_macro(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_sizes(predictions, labels, "macro f1");
  std::set<int64_t> classes(labels.begin(), labels.end());
  classes.insert(predictions.begin(), predictions.end());
  double sum = 0.0;
  for (int64_t c : classes) sum += f1_of_class(predictions, labels, c);
  return sum / static_cast<double>(classes.size());
}

double matthews(const std::vector<int64_t>& predictions, const std::vector<int64_t>& labels) {
  check_sizes(predictions, labels, "matthews");
  // The multiclass form sklearn uses: (c*s - t.p) / sqrt((s^2 - p.p)(s^2 - t.t)), with t and p
  // the per-class counts of labels and predictions, c the correct count, s the total.
  std::map<int64_t, double> t, p;
  double c = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    t[labels[i]] += 1;
    p[predictions[i]] += 1;
    c += predictions[i] == labels[i];
  }
  const double s = static_cast<double>(labels.size());
  double tp = 0, pp = 0, tt = 0;
  for (const auto& [k, n] : t) {
    tt += n * n;
    if (auto it = p.find(k); it != p.end()) tp += n * it->second;
  }
  for (const auto& [k, n] : p) pp += n * n;
  const double denom = std::sqrt((s * s - pp) * (s * s - tt));
  return denom == 0.0 ? 0.0 : (c * s - tp) / denom;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x, y, "pearson");
  if (x.size() < 2) return std::numeric_limits<double>::quiet_NaN();
  const double mx = mean(x), my = mean(y);
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double dx = x[i] - mx, dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx == 0.0 || syy == 0.0) return std::numeric_limits<double>::quiet_NaN();
  // Clamp rounding noise, as SciPy does.
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

std::vector<double> average_ranks(const std::vector<double>& values) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return values[a] < values[b]; });
  std::vector<double> ranks(values.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && values[order[j + 1]] == values[order[i]]) ++j;
    // Positions i..j (0-based) share the mean of the 1-based ranks i+1..j+1.
    const double rank = (static_cast<double>(i + j) / 2.0) + 1.0;
    for (size_t k = i; k <= j; ++k) ranks[order[k]] = rank;
    i = j + 1;
  }
  return ranks;
}

double spearman(const std::vector<double>& x, const std::vector<double>& y) {
  check_sizes(x, y, "spearman");
  return pearson(average_ranks(x), average_ranks(y));
}

double exact_match_by_group(const std::vector<int64_t>& predictions,
                            const std::vector<int64_t>& labels, const std::vector<int64_t>& groups) {
  check_sizes(predictions, labels, "exact match");
  LP_CHECK(groups.size() == labels.size(), "exact match: ", groups.size(), " groups but ",
           labels.size(), " labels");
  std::map<int64_t, bool> all_right;
  for (size_t i = 0; i < labels.size(); ++i) {
    auto [it, inserted] = all_right.emplace(groups[i], true);
    it->second = it->second && predictions[i] == labels[i];
  }
  int64_t right = 0;
  for (const auto& [g, ok] : all_right) right += ok;
  return static_cast<double>(right) / static_cast<double>(all_right.size());
}

double MetricResult::headline_value() const {
  const auto it = values.find(headline);
  LP_CHECK(it != values.end(), "metric result has no headline value '", headline, "'");
  return it->second;
}

MetricResult classification_metrics(const std::string& metric,
                                    const std::vector<int64_t>& predictions,
                                    const std::vector<int64_t>& labels,
                                    const std::vector<int64_t>& groups) {
  MetricResult r;
  auto& v = r.values;
  v["accuracy"] = accuracy(predictions, labels);
  if (metric == "accuracy") {
    r.headline = "accuracy";
  } else if (metric == "f1") {
    v["f1"] = f1_binary(predictions, labels);
    if (!groups.empty()) v["exact_match"] = exact_match_by_group(predictions, labels, groups);
    r.headline = "f1";
  } else if (metric == "macro_f1") {
    v["macro_f1"] = f1_macro(predictions, labels);
    r.headline = "macro_f1";
  } else if (metric == "matthews") {
    v["matthews"] = matthews(predictions, labels);
    r.headline = "matthews";
  } else if (metric == "accuracy_f1") {
    v["f1"] = f1_binary(predictions, labels);
    v["combined_score"] = (v["accuracy"] + v["f1"]) / 2.0;
    r.headline = "combined_score";
  } else if (metric == "accuracy_macro_f1") {
    v["macro_f1"] = f1_macro(predictions, labels);
    v["combined_score"] = (v["accuracy"] + v["macro_f1"]) / 2.0;
    r.headline = "combined_score";
  } else {
    throw_error("unknown classification metric '", metric,
                "' (expected accuracy, f1, macro_f1, matthews, accuracy_f1, accuracy_macro_f1)");
  }
  return r;
}

MetricResult regression_metrics(const std::string& metric, const std::vector<double>& predictions,
                                const std::vector<double>& labels) {
  LP_CHECK(metric == "pearson" || metric == "spearman" || metric == "pearson_spearman",
           "unknown regression metric '", metric, "' (expected pearson, spearman, pearson_spearman)");
  MetricResult r;
  auto& v = r.values;
  v["pearson"] = defined_or_zero(pearson(predictions, labels), "pearson");
  v["spearman"] = defined_or_zero(spearman(predictions, labels), "spearman");
  if (metric == "pearson_spearman") {
    v["combined_score"] = (v["pearson"] + v["spearman"]) / 2.0;
    r.headline = "combined_score";
  } else {
    r.headline = metric;
  }
  return r;
}

MetricResult compute_metrics(const TaskSpec& task, const std::vector<double>& predictions,
                             const std::vector<double>& labels, const std::vector<int64_t>& groups) {
  if (task.regression) return regression_metrics(task.metric, predictions, labels);
  auto ids = [](const std::vector<double>& v) {
    std::vector<int64_t> out(v.size());
    for (size_t i = 0; i < v.size(); ++i) out[i] = static_cast<int64_t>(std::llround(v[i]));
    return out;
  };
  return classification_metrics(task.metric, ids(predictions), ids(labels), groups);
}

}  // namespace lightpeft
