// numpy_quantile against numpy itself (values computed once with the venv's numpy 2.4, the python
// line above each table), including float32 rounding, ties, tiny n and the kept counts of the spec.
#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "lightpeft/core/error.h"
#include "lightpeft/pruning/quantile.h"

namespace lightpeft {
namespace {

struct Case {
  std::vector<double> values;
  double q;
  float threshold32;   // np.quantile(np.array(values, np.float32), q)
  double threshold64;  // np.quantile(np.array(values, np.float64), q)
  int64_t kept;        // (values > threshold).sum(), both dtypes
};

// python -c 'import numpy as np; ...; t32=np.quantile(np.array(v,np.float32),q);
//   t64=np.quantile(np.array(v,np.float64),q); print(float(t32).hex(), float(t64).hex(),
//   int((a32>t32).sum()))'   (numpy 2.4.6)
const std::vector<Case> kCases = {
    {{0.3, -0.1, 0.7, 0.2, 0.9, 0.5, 0.05, 0.6, 0.8, 0.4, 1.1, 0.15}, 0.333333333,
     0x1.1111120000000p-2f, 0x1.1111110ac4732p-2, 8},
    {{0.5, 0.2, 0.9, 0.1}, 0.5, 0x1.6666660000000p-2f, 0x1.6666666666666p-2, 2},
    {{3.0, 1.0, 2.0}, 0.25, 0x1.8p+0f, 0x1.8p+0, 2},
    {{1.0, 1.0, 1.0, 2.0, 2.0, 3.0}, 0.5, 0x1.8p+0f, 0x1.8p+0, 3},  // ties below the threshold
    {{2.0, 2.0, 2.0, 2.0}, 0.333333333, 0x1p+1f, 0x1p+1, 0},         // all equal: strict > keeps none
    {{0.7}, 0.333333333, 0x1.6666660000000p-1f, 0x1.6666666666666p-1, 0},  // n = 1
    {{0.7, 0.1}, 0.75, 0x1.19999a0000000p-1f, 0x1.1999999999999p-1, 1},   // n = 2
    {{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1}, 0.1, 0x1.99999a0000000p-3f,
     0x1.999999999999ap-3, 9},  // integral virtual index: the threshold is a value itself
    {{1e-3, 0.9999, 0.12345, -0.5, 0.333}, 0.6, 0x1.a87d2c0000000p-3f, 0x1.a87d2c7b890d6p-3, 2},
    {{0.1, 0.2, 0.3}, 1.0, 0x1.3333340000000p-2f, 0x1.3333333333333p-2, 0},
    {{0.1, 0.2, 0.3}, 0.0, 0x1.99999a0000000p-4f, 0x1.999999999999ap-4, 2},
};

TEST(NumpyQuantile, MatchesNumpyInFloat32AndFloat64) {
  for (const auto& c : kCases) {
    std::vector<float> v32(c.values.begin(), c.values.end());
    const float t32 = numpy_quantile(v32, c.q);
    const double t64 = numpy_quantile(c.values, c.q);
    EXPECT_EQ(t32, c.threshold32) << "q=" << c.q << " n=" << c.values.size();
    EXPECT_EQ(t64, c.threshold64) << "q=" << c.q << " n=" << c.values.size();
    EXPECT_EQ(static_cast<int64_t>(indices_above(v32, t32).size()), c.kept);
    EXPECT_EQ(static_cast<int64_t>(indices_above(c.values, t64).size()), c.kept);
  }
}

// python -c 'import numpy as np; rng=np.random.default_rng(5); x=rng.normal(size=13).astype(
//   np.float32); [print(q, float(np.quantile(x,q)).hex(), int((x>np.quantile(x,q)).sum()))
//   for q in [0.1,0.25,0.333333333,0.5,0.6,0.75,0.9,0.999]]'
// q = 0.333333333 shows why the arithmetic must be float32: the exact threshold lies just below
// x_(4), float32 rounds it to x_(4), and strict > then keeps 8, not 9.
TEST(NumpyQuantile, Float32RoundingBitExact) {
  const std::vector<float> x = {
      -0x1.9a96c2p-1f, -0x1.530930p+0f, -0x1.fca504p-3f, 0x1.ae8932p-2f, 0x1.22d3f2p+0f,
      0x1.c15b80p-4f,  -0x1.1af496p-1f, -0x1.91cebcp-1f, 0x1.7f5b9cp-1f, 0x1.a28124p+0f,
      0x1.1750b2p-2f,  -0x1.3bbb6ep+0f, -0x1.eaa1bcp-1f};
  struct Q {
    double q;
    float threshold;
    int64_t kept;
  };
  const std::vector<Q> expected = {{0.1, -0x1.2da61ep+0f, 11},      {0.25, -0x1.9a96c2p-1f, 9},
                                   {0.333333333, -0x1.91cebcp-1f, 8}, {0.5, -0x1.fca504p-3f, 6},
                                   {0.6, 0x1.237814p-3f, 5},         {0.75, 0x1.ae8932p-2f, 3},
                                   {0.9, 0x1.0eff84p+0f, 2},         {0.999, 0x1.a0f8ecp+0f, 1}};
  for (const auto& e : expected) {
    const float t = numpy_quantile(x, e.q);
    EXPECT_EQ(t, e.threshold) << "q=" << e.q;
    EXPECT_EQ(static_cast<int64_t>(indices_above(x, t).size()), e.kept) << "q=" << e.q;
  }
}

// The spec's examples: 12 heads at ratio 1/3 keep 8 per layer (base), 16 keep 11 (large), with the
// float64 arithmetic the plan uses (the official numpy 1.x promotion). numpy >= 2 on the float32
// array keeps 10 of 16: the float32 threshold rounds up onto the 6th smallest score.
// python -c 'import numpy as np; x=np.array([np.float32(0.37)*np.float32((i*7)%n)-np.float32(1)
//   for i in range(n)], np.float32); print((x>np.quantile(x,0.333333333)).sum(),
//   (x.astype(np.float64)>np.quantile(x.astype(np.float64),0.333333333)).sum())'
//   -> n=12: 8 8, n=16: 10 11
TEST(NumpyQuantile, SpecKeptCountsForDistinctScores) {
  struct Expect {
    int n, kept64, kept32;
  };
  for (auto e : {Expect{12, 8, 8}, Expect{16, 11, 10}}) {
    std::vector<float> s;
    for (int i = 0; i < e.n; ++i) s.push_back(0.37f * static_cast<float>((i * 7) % e.n) - 1.0f);
    std::vector<double> d(s.begin(), s.end());
    EXPECT_EQ(static_cast<int>(indices_above(d, numpy_quantile(d, 0.333333333)).size()), e.kept64)
        << e.n << " heads, float64";
    EXPECT_EQ(static_cast<int>(indices_above(s, numpy_quantile(s, 0.333333333)).size()), e.kept32)
        << e.n << " heads, float32 (numpy >= 2)";
  }
}

TEST(NumpyQuantile, KeptIndicesAreAscendingPositions) {
  const std::vector<float> s = {0.9f, 0.1f, 0.5f, 0.7f};
  EXPECT_EQ(indices_above(s, 0.5f), (std::vector<int64_t>{0, 3}));  // 0.5 itself is pruned
}

TEST(NumpyQuantile, NanPropagatesAsNumpy) {
  EXPECT_TRUE(std::isnan(numpy_quantile(std::vector<float>{0.1f, NAN, 0.3f}, 0.5)));
}

TEST(NumpyQuantile, RejectsEmptyAndBadQ) {
  EXPECT_THROW(numpy_quantile(std::vector<float>{}, 0.5), Error);
  EXPECT_THROW(numpy_quantile(std::vector<float>{1.0f}, -0.1), Error);
  EXPECT_THROW(numpy_quantile(std::vector<float>{1.0f}, 1.5), Error);
}

}  // namespace
}  // namespace lightpeft
