#include "trainer/probe/stats.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "base/error.h"

namespace hc::probe {
namespace {

using Matrix = std::vector<std::vector<double>>;

// Inverse of a small symmetric positive definite matrix by Gauss-Jordan elimination.
Matrix inverse(Matrix a) {
  const size_t n = a.size();
  Matrix inv(n, std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i) inv[i][i] = 1.0;
  for (size_t c = 0; c < n; ++c) {
    size_t pivot = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[pivot][c])) pivot = r;
    if (std::abs(a[pivot][c]) < 1e-12)
      throw Error("cluster-robust fit: the design matrix is singular (a cell without data)");
    std::swap(a[c], a[pivot]);
    std::swap(inv[c], inv[pivot]);
    const double d = a[c][c];
    for (size_t j = 0; j < n; ++j) a[c][j] /= d, inv[c][j] /= d;
    for (size_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = a[r][c];
      for (size_t j = 0; j < n; ++j) a[r][j] -= f * a[c][j], inv[r][j] -= f * inv[c][j];
    }
  }
  return inv;
}

}  // namespace

Interval mean_interval(const std::vector<double>& xs, double confidence) {
  Interval iv;
  iv.n = static_cast<int>(xs.size());
  if (xs.empty()) {
    iv.mean = iv.lo = iv.hi = std::nan("");
    return iv;
  }
  double m = 0.0;
  for (double x : xs) m += x / static_cast<double>(xs.size());
  iv.mean = iv.lo = iv.hi = m;
  if (xs.size() < 2) return iv;
  double v = 0.0;
  for (double x : xs) v += (x - m) * (x - m);
  const double se =
      std::sqrt(v / static_cast<double>(xs.size() - 1) / static_cast<double>(xs.size()));
  const double half = t_quantile(confidence, iv.n - 1) * se;
  iv.lo = m - half;
  iv.hi = m + half;
  return iv;
}

double t_quantile(double confidence, int df) {
  const double nu = df;
  const double log_c = std::lgamma((nu + 1) / 2) - std::lgamma(nu / 2) - 0.5 * std::log(nu * M_PI);
  const auto density = [&](double x) {
    return std::exp(log_c - (nu + 1) / 2 * std::log1p(x * x / nu));
  };
  // P(|T| <= t) = 2 * integral_0^t density, by Simpson's rule.
  const auto mass = [&](double t) {
    const int steps = 2000;
    const double h = t / steps;
    double s = density(0) + density(t);
    for (int i = 1; i < steps; ++i) s += (i % 2 ? 4 : 2) * density(i * h);
    return 2 * s * h / 3;
  };
  double lo = 0, hi = 1;
  while (mass(hi) < confidence) hi *= 2;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (mass(mid) < confidence ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

ClusteredFit::ClusteredFit(const Matrix& x, const std::vector<double>& y,
                           const std::vector<int>& cluster) {
  const size_t n = x.size(), k = n ? x[0].size() : 0;
  if (n == 0 || y.size() != n || cluster.size() != n)
    throw Error("cluster-robust fit: rows of X, y and clusters differ or are empty");
  Matrix xtx(k, std::vector<double>(k, 0.0));
  std::vector<double> xty(k, 0.0);
  for (size_t i = 0; i < n; ++i)
    for (size_t a = 0; a < k; ++a) {
      xty[a] += x[i][a] * y[i];
      for (size_t b = 0; b < k; ++b) xtx[a][b] += x[i][a] * x[i][b];
    }
  const Matrix bread = inverse(xtx);
  b_.assign(k, 0.0);
  for (size_t a = 0; a < k; ++a)
    for (size_t b = 0; b < k; ++b) b_[a] += bread[a][b] * xty[b];
  // Meat: sum over clusters of s_g s_g', s_g the sum of x_i * residual_i over the cluster.
  std::map<int, std::vector<double>> score;
  for (size_t i = 0; i < n; ++i) {
    double fit = 0.0;
    for (size_t a = 0; a < k; ++a) fit += x[i][a] * b_[a];
    std::vector<double>& s = score[cluster[i]];
    s.resize(k, 0.0);
    for (size_t a = 0; a < k; ++a) s[a] += x[i][a] * (y[i] - fit);
  }
  g_ = static_cast<int>(score.size());
  Matrix meat(k, std::vector<double>(k, 0.0));
  for (const auto& [id, s] : score)
    for (size_t a = 0; a < k; ++a)
      for (size_t b = 0; b < k; ++b) meat[a][b] += s[a] * s[b];
  const double adjust = g_ > 1 ? static_cast<double>(g_) / (g_ - 1) : std::nan("");
  v_.assign(k, std::vector<double>(k, 0.0));
  for (size_t a = 0; a < k; ++a)
    for (size_t b = 0; b < k; ++b) {
      double s = 0.0;
      for (size_t c = 0; c < k; ++c)
        for (size_t d = 0; d < k; ++d) s += bread[a][c] * meat[c][d] * bread[d][b];
      v_[a][b] = adjust * s;
    }
}

WaldTest ClusteredFit::test(const std::vector<double>& c) const {
  WaldTest t;
  double var = 0.0;
  for (size_t a = 0; a < b_.size(); ++a) {
    t.estimate += c[a] * b_[a];
    for (size_t b = 0; b < b_.size(); ++b) var += c[a] * v_[a][b] * c[b];
  }
  t.se = std::sqrt(std::max(var, 0.0));
  if (!std::isfinite(t.se)) {
    t.z = t.p = std::nan("");
    return t;
  }
  if (t.se == 0.0) {
    // Every observation of every cluster agrees exactly: any non-zero estimate is certain.
    t.z = t.estimate == 0.0 ? 0.0 : std::copysign(INFINITY, t.estimate);
    t.p = t.estimate == 0.0 ? 1.0 : 0.0;
    return t;
  }
  t.z = t.estimate / t.se;
  t.p = std::erfc(std::abs(t.z) / std::sqrt(2.0));
  return t;
}

}  // namespace hc::probe
