// The verdict's statistics: Student-t intervals, and least squares with cluster-robust standard
// errors (HC0 with the G/(G-1) adjustment, as sandwich::vcovCL gives for a glm) checked against
// the formula worked by hand.
#include "trainer/probe/stats.h"

#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"

namespace hc::probe {
namespace {

// Quantiles from tables: t(0.975; 1) = 12.706, t(0.975; 4) = 2.776.
TEST(ProbeStats, IntervalsAreStudentT) {
  const Interval two = mean_interval({0.0, 2.0}, 0.95);
  EXPECT_EQ(two.n, 2);
  EXPECT_DOUBLE_EQ(two.mean, 1.0);
  EXPECT_NEAR(two.hi - two.mean, 12.706, 1e-3);  // standard error 1
  const Interval five = mean_interval({1, 2, 3, 4, 5}, 0.95);
  EXPECT_NEAR(five.hi - five.mean, 2.776 * std::sqrt(2.5 / 5), 1e-3);
  EXPECT_NEAR(five.mean - five.lo, five.hi - five.mean, 1e-12);
  const Interval one = mean_interval({0.3}, 0.95);
  EXPECT_EQ(one.lo, 0.3);
  EXPECT_EQ(one.hi, 0.3);
  EXPECT_EQ(mean_interval({}, 0.95).n, 0);
}

// Intercept only: b = mean 3.5; residuals -2.5 ... 2.5 sum to -4, 0, 4 over the three clusters,
// so V = 3/2 * (1/6)^2 * (16 + 0 + 16) = 4/3.
TEST(ProbeStats, ClusteredMeanByHand) {
  const ClusteredFit fit({{1}, {1}, {1}, {1}, {1}, {1}}, {1, 2, 3, 4, 5, 6}, {0, 0, 1, 1, 2, 2});
  EXPECT_EQ(fit.clusters(), 3);
  const WaldTest t = fit.test({1});
  EXPECT_NEAR(t.estimate, 3.5, 1e-12);
  EXPECT_NEAR(t.se, std::sqrt(4.0 / 3.0), 1e-12);
  EXPECT_NEAR(t.z, 3.5 / std::sqrt(4.0 / 3.0), 1e-12);
  EXPECT_NEAR(t.p, std::erfc(t.z / std::sqrt(2.0)), 1e-15);
  EXPECT_LT(t.p, 0.01);
}

// A dummy: b0 is the mean of the x = 0 rows, b0 + b1 of the x = 1 rows, and the variance of each
// cell mean sums its own residuals per cluster (the other cell's rows do not enter it).
TEST(ProbeStats, ClusteredCellMeansByHand) {
  const std::vector<double> y = {0.9, 0.7, -0.6, -0.8, 0.8, 0.6, -0.9, -0.3, 1.0, 0.9, -0.7, -0.9};
  std::vector<std::vector<double>> x;
  std::vector<int> cluster;
  for (int g = 0; g < 3; ++g)
    for (int a : {0, 0, 1, 1}) {
      x.push_back({1.0, static_cast<double>(a)});
      cluster.push_back(g);
    }
  const ClusteredFit fit(x, y, cluster);
  for (int a : {0, 1}) {
    double mean = 0;
    for (size_t i = 0; i < y.size(); ++i)
      if (x[i][1] == a) mean += y[i] / 6;
    double meat = 0;
    for (int g = 0; g < 3; ++g) {
      double s = 0;
      for (size_t i = 0; i < y.size(); ++i)
        if (cluster[i] == g && x[i][1] == a) s += y[i] - mean;
      meat += s * s;
    }
    const WaldTest t = fit.test({1.0, static_cast<double>(a)});
    EXPECT_NEAR(t.estimate, mean, 1e-12) << a;
    EXPECT_NEAR(t.se, std::sqrt(1.5 * meat / 36), 1e-12) << a;
  }
}

TEST(ProbeStats, DegenerateFits) {
  // One cluster: nothing to estimate a variance from.
  const ClusteredFit one({{1}, {1}}, {1, 2}, {0, 0});
  EXPECT_TRUE(std::isnan(one.test({1}).p));
  // Every cluster agrees exactly: a non-zero estimate is certain, zero is not evidence.
  const ClusteredFit exact({{1}, {1}, {1}}, {0.5, 0.5, 0.5}, {0, 1, 2});
  EXPECT_EQ(exact.test({1}).p, 0.0);
  const ClusteredFit zero({{1}, {1}, {1}}, {0, 0, 0}, {0, 1, 2});
  EXPECT_EQ(zero.test({1}).p, 1.0);
  // A cell without data.
  EXPECT_THROW(ClusteredFit({{1, 0}, {1, 0}}, {1, 2}, {0, 1}), Error);
}

}  // namespace
}  // namespace hc::probe
