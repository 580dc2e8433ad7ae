#include "lightpeft/pruning/quantile.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lightpeft/core/error.h"

namespace lightpeft {

template <typename T>
T numpy_quantile(std::vector<T> values, double q) {
  LP_CHECK(!values.empty(), "quantile of an empty set of scores");
  LP_CHECK(q >= 0.0 && q <= 1.0, "quantile: q must be in [0, 1], got ", q);
  for (T v : values)
    if (std::isnan(v)) return std::numeric_limits<T>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const auto n = static_cast<int64_t>(values.size());
  // numpy's method "linear": virtual index (n - 1) * q, computed in double.
  const double virtual_index = static_cast<double>(n - 1) * q;
  if (virtual_index >= static_cast<double>(n - 1)) return values[n - 1];
  const double below = std::floor(virtual_index);
  const auto i = static_cast<int64_t>(below);
  const double gamma = virtual_index - below;
  const T a = values[i], b = values[i + 1];
  // numpy's _lerp, everything in T.
  const T diff = b - a;
  if (gamma >= 0.5) return b - diff * static_cast<T>(1.0 - gamma);
  return a + diff * static_cast<T>(gamma);
}

template <typename T>
std::vector<int64_t> indices_above(const std::vector<T>& values, T threshold) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < values.size(); ++i)
    if (values[i] > threshold) out.push_back(static_cast<int64_t>(i));
  return out;
}

template float numpy_quantile(std::vector<float>, double);
template double numpy_quantile(std::vector<double>, double);
template std::vector<int64_t> indices_above(const std::vector<float>&, float);
template std::vector<int64_t> indices_above(const std::vector<double>&, double);

}  // namespace lightpeft
