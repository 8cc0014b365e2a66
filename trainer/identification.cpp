#include "trainer/identification.h"

#include <fmt/format.h>

#include <cmath>

namespace hc::trainer {

std::vector<double> ridge_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                             const torch::Tensor& x_score, const torch::Tensor& y_score,
                             double l2) {
  torch::NoGradGuard no_grad;
  const torch::Tensor xf = x_fit.to(torch::kFloat64), yf = y_fit.to(torch::kFloat64);
  const torch::Tensor mx = xf.mean(0), my = yf.mean(0);
  const torch::Tensor xc = xf - mx, yc = yf - my;
  const int64_t n = xc.size(0), f = xc.size(1);
  torch::Tensor w;
  if (f <= n) {
    w = torch::linalg_solve(torch::matmul(xc.t(), xc) + l2 * torch::eye(f, xc.options()),
                            torch::matmul(xc.t(), yc));
  } else {  // dual form: an n x n system when there are more features than tasks
    w = torch::matmul(xc.t(), torch::linalg_solve(torch::matmul(xc, xc.t()) +
                                                      l2 * torch::eye(n, xc.options()),
                                                  yc));
  }
  const torch::Tensor ys = y_score.to(torch::kFloat64);
  const torch::Tensor pred = torch::matmul(x_score.to(torch::kFloat64) - mx, w) + my;
  const torch::Tensor ss_res = (ys - pred).square().sum(0);
  const torch::Tensor ss_tot = (ys - ys.mean(0)).square().sum(0);
  std::vector<double> r2(ys.size(1));
  for (int64_t j = 0; j < ys.size(1); ++j) {
    const double tot = ss_tot[j].item<double>();
    r2[j] = tot > 1e-12 ? 1.0 - ss_res[j].item<double>() / tot : std::nan("");
  }
  return r2;
}

torch::Tensor flatten_fast(const agents::Fast& fast) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : fast) parts.push_back(p.reshape({p.size(0), -1}));
  return torch::cat(parts, 1);
}

void IdentificationProbe::add(std::vector<torch::Tensor>& x, std::vector<torch::Tensor>& y,
                              const agents::Fast& fast, const torch::Tensor& latents,
                              int64_t take) {
  x.push_back(flatten_fast(fast).slice(0, 0, take));
  y.push_back(latents.slice(0, 0, take));
}

void IdentificationProbe::add_fit(const agents::Fast& fast, const torch::Tensor& latents,
                                  int64_t seen) {
  if (seen < limit_) add(fit_x_, fit_y_, fast, latents, std::min(latents.size(0), limit_ - seen));
}

void IdentificationProbe::add_score(const agents::Fast& fast, const torch::Tensor& latents,
                                    int64_t seen) {
  if (seen < limit_)
    add(score_x_, score_y_, fast, latents, std::min(latents.size(0), limit_ - seen));
}

void IdentificationProbe::emit(Metrics& m) const {
  if (fit_x_.empty() || score_x_.empty()) return;
  const std::vector<double> r2 =
      ridge_r2(torch::cat(fit_x_), torch::cat(fit_y_), torch::cat(score_x_), torch::cat(score_y_));
  double total = 0;
  int counted = 0;
  for (double v : r2)
    if (std::isfinite(v)) total += v, ++counted;
  m.emplace_back("id/r2", counted ? total / counted : std::nan(""));
  if (r2.size() <= 64)
    for (size_t j = 0; j < r2.size(); ++j) m.emplace_back(fmt::format("id/r2_{}", j), r2[j]);
}

}  // namespace hc::trainer
