// The statistics of the probe's verdict: intervals over masks, and the reference's significance
// tests -- least squares with standard errors robust to correlation within clusters (its R
// analysis: glm + sandwich::vcovCL, HC0 with the G/(G-1) adjustment) and Wald z-tests of linear
// combinations of the coefficients (lmtest::coeftest and car::linearHypothesis on a glm).
#pragma once

#include <vector>

namespace hc::probe {

struct Interval {
  double mean = 0.0, lo = 0.0, hi = 0.0;
  int n = 0;
};
// Mean and Student-t interval at `confidence` (n = 1: the value itself; n = 0: NaN).
Interval mean_interval(const std::vector<double>& xs, double confidence);

// Two-sided Student-t quantile: the t with P(|T| <= t) = confidence for `df` degrees of freedom.
double t_quantile(double confidence, int df);

struct WaldTest {
  double estimate = 0.0, se = 0.0, z = 0.0, p = 1.0;  // p: two-sided, normal
};

// y = X b by least squares, with the cluster-robust covariance of b. Rows of X are
// observations; `cluster` labels each row's cluster. Throws hc::Error if X'X is singular.
class ClusteredFit {
 public:
  ClusteredFit(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
               const std::vector<int>& cluster);
  const std::vector<double>& coefficients() const { return b_; }
  int clusters() const { return g_; }
  // Test of c'b = 0. With fewer than 2 clusters there is no variance to test against: p = NaN.
  WaldTest test(const std::vector<double>& c) const;

 private:
  std::vector<double> b_;
  std::vector<std::vector<double>> v_;  // covariance of b
  int g_ = 0;
};

}  // namespace hc::probe
