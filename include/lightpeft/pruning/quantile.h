#pragma once
// The pruning rule of Light-PEFT (and EarlyBERT): threshold = np.quantile(scores, ratio), keep the
// units with score > threshold (strict). numpy's method "linear", reproduced exactly:
//   v = (n - 1) * q (in double), i = floor(v), g = v - i, a = x[i], b = x[i + 1] of the sorted
//   values, and in the arithmetic type T:  d = b - a;  g < 0.5: a + d * g   else: b - d * (1 - g).
//   v >= n - 1 gives the maximum. A NaN anywhere gives NaN (numpy sorts NaN last and propagates it).
//
// Which T: the pruning plan uses T = double, i.e. np.quantile(scores.astype(np.float64), q).
// The official code ran numpy 1.x, whose type promotion does the interpolation of float32 mask
// records in float64 for the shapes it uses (a (1,)-shaped gamma with axis=-1, 0-d scalars with
// axis=None). numpy >= 2 with a Python float q keeps float32 input in float32 (T = float below),
// and float32 rounding then pulls a threshold just under x_(k) up to x_(k) itself: 16 distinct
// heads at ratio 0.333333333 keep 10 instead of the official 11 (tested in test_quantile.cpp).
#include <cstdint>
#include <vector>

namespace lightpeft {

// np.quantile(values, q) for values of dtype T (float: numpy >= 2's float32 result; double:
// float64); q in [0, 1]; throws lightpeft::Error for empty values or q outside.
template <typename T>
T numpy_quantile(std::vector<T> values, double q);

// Indices i (ascending) with values[i] > threshold.
template <typename T>
std::vector<int64_t> indices_above(const std::vector<T>& values, T threshold);

}  // namespace lightpeft
