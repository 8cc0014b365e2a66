#include "trainer/identification.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "base/rng.h"

namespace hc::trainer {

namespace {

// R^2 of each column of y against pred; NaN where y has no variance.
std::vector<double> column_r2(const torch::Tensor& y, const torch::Tensor& pred) {
  const torch::Tensor ss_res = (y - pred).square().sum(0);
  const torch::Tensor ss_tot = (y - y.mean(0)).square().sum(0);
  std::vector<double> r2(y.size(1));
  for (int64_t j = 0; j < y.size(1); ++j) {
    const double tot = ss_tot[j].item<double>();
    r2[j] = tot > 1e-12 ? 1.0 - ss_res[j].item<double>() / tot : std::nan("");
  }
  return r2;
}

// Features with the reference's intercept column: 1 where every feature of the row is non-zero.
torch::Tensor with_intercept(const torch::Tensor& x) {
  return torch::cat({x, (x != 0).all(1, /*keepdim=*/true).to(x.dtype())}, 1);
}

}  // namespace

torch::Tensor RidgeFit::predict(const torch::Tensor& x) const {
  return torch::matmul(x.to(torch::kFloat64) - mx, w) + my;
}

RidgeFit ridge_fit(const torch::Tensor& x, const torch::Tensor& y, double l2, bool intercept) {
  torch::NoGradGuard no_grad;
  const torch::Tensor xf = x.to(torch::kFloat64), yf = y.to(torch::kFloat64);
  RidgeFit fit;
  fit.mx = intercept ? xf.mean(0) : torch::zeros({xf.size(1)}, xf.options());
  fit.my = intercept ? yf.mean(0) : torch::zeros({yf.size(1)}, yf.options());
  const torch::Tensor xc = xf - fit.mx, yc = yf - fit.my;
  const int64_t n = xc.size(0), f = xc.size(1);
  if (f <= n) {
    fit.w = torch::linalg_solve(torch::matmul(xc.t(), xc) + l2 * torch::eye(f, xc.options()),
                                torch::matmul(xc.t(), yc));
  } else {  // dual form: an n x n system when there are more features than tasks
    fit.w = torch::matmul(
        xc.t(),
        torch::linalg_solve(torch::matmul(xc, xc.t()) + l2 * torch::eye(n, xc.options()), yc));
  }
  return fit;
}

std::vector<double> ridge_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                             const torch::Tensor& x_score, const torch::Tensor& y_score, double l2,
                             bool intercept) {
  torch::NoGradGuard no_grad;
  const RidgeFit fit = ridge_fit(x_fit, y_fit, l2, intercept);
  return column_r2(y_score.to(torch::kFloat64), fit.predict(x_score));
}

torch::Tensor template_alignment(const RidgeFit& fit, const torch::Tensor& student,
                                 const torch::Tensor& teacher) {
  torch::NoGradGuard no_grad;
  // pinv(F) with F = w^T [M_t, M_s]: column t is the student embedding of teacher module t.
  const torch::Tensor p = torch::linalg_pinv(fit.w.t());  // [M_s, M_t]
  const torch::Tensor s = student.to(torch::kFloat64), t = teacher.to(torch::kFloat64);
  const torch::Tensor made = torch::einsum("Tt,Tio->tio", {p, s});  // [M_t, in, hidden_s]
  const auto unit = [](const torch::Tensor& w) {  // each hidden unit's input weights, norm 1
    return w / w.norm(2, 1, /*keepdim=*/true).clamp_min(1e-12);
  };
  // cos[t, o, O]: teacher unit o of module t against student unit O of its reconstruction.
  const torch::Tensor cos = torch::einsum("tio,tiO->toO", {unit(t), unit(made)});
  return std::get<0>(cos.max(2));  // [M_t, hidden_t]
}

std::vector<double> ridge_cg_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                                const torch::Tensor& x_score, const torch::Tensor& y_score,
                                double l2, int iterations) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = with_intercept(x_fit.to(torch::kFloat64));
  const torch::Tensor b = torch::matmul(x.t(), y_fit.to(torch::kFloat64));  // [f + 1, columns]
  const auto apply = [&](const torch::Tensor& u) {
    return torch::matmul(x.t(), torch::matmul(x, u)) + l2 * u;
  };
  // Conjugate gradients on every column at once, each with its own step sizes; a column stops
  // once its residual is below 1e-5 of its right-hand side.
  torch::Tensor w = torch::zeros_like(b), r = b.clone(), p = r.clone();
  torch::Tensor rs = r.square().sum(0);
  const torch::Tensor stop = 1e-10 * b.square().sum(0);
  for (int it = 0; it < iterations; ++it) {
    const torch::Tensor active = rs > stop;
    if (!active.any().item<bool>()) break;
    const torch::Tensor ap = apply(p);
    const torch::Tensor curvature = (p * ap).sum(0);
    const torch::Tensor alpha =
        torch::where(active, rs / torch::where(active, curvature, torch::ones_like(curvature)),
                     torch::zeros_like(rs));
    w = w + alpha * p;
    r = r - alpha * ap;
    const torch::Tensor rs_next = r.square().sum(0);
    const torch::Tensor beta = torch::where(
        active, rs_next / torch::where(active, rs, torch::ones_like(rs)), torch::zeros_like(rs));
    p = r + beta * p;
    rs = torch::where(active, rs_next, rs);
  }
  const torch::Tensor pred = torch::matmul(with_intercept(x_score.to(torch::kFloat64)), w);
  return column_r2(y_score.to(torch::kFloat64), pred);
}

torch::Tensor flatten_fast(const agents::Fast& fast) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : fast) parts.push_back(p.reshape({p.size(0), -1}));
  return torch::cat(parts, 1);
}

void IdentificationProbe::add(Role role, const agents::Fast& fast, const torch::Tensor& latents,
                              int64_t seen) {
  if (seen >= limit_) return;
  const int64_t take = std::min(latents.size(0), limit_ - seen);
  const int k = static_cast<int>(role);
  x_[k].push_back(flatten_fast(fast).slice(0, 0, take));
  y_[k].push_back(latents.slice(0, 0, take));
}

void IdentificationProbe::add_scored(const std::string& set, const agents::Fast& fast,
                                     const torch::Tensor& latents, int64_t seen) {
  if (seen >= limit_) return;
  auto it = std::find(scored_names_.begin(), scored_names_.end(), set);
  if (it == scored_names_.end()) {
    scored_names_.push_back(set);
    scored_x_.emplace_back();
    scored_y_.emplace_back();
    it = scored_names_.end() - 1;
  }
  const size_t k = static_cast<size_t>(it - scored_names_.begin());
  const int64_t take = std::min(latents.size(0), limit_ - seen);
  scored_x_[k].push_back(flatten_fast(fast).slice(0, 0, take));
  scored_y_[k].push_back(latents.slice(0, 0, take));
}

void IdentificationProbe::emit(Metrics& m, const torch::Tensor& student_bank,
                               const torch::Tensor& teacher_bank) const {
  const int fit = static_cast<int>(Role::kFit), id = static_cast<int>(Role::kId),
            ood = static_cast<int>(Role::kOod);
  if (x_[fit].empty() || x_[ood].empty()) return;
  const torch::Tensor xf = torch::cat(x_[fit]), yf = torch::cat(y_[fit]);
  const torch::Tensor xo = torch::cat(x_[ood]), yo = torch::cat(y_[ood]);
  const auto mean_defined = [](const std::vector<double>& r2, int* undefined = nullptr) {
    double total = 0;
    int counted = 0;
    for (double v : r2)
      if (std::isfinite(v)) total += v, ++counted;
    if (undefined) *undefined = static_cast<int>(r2.size()) - counted;
    return counted ? total / counted : std::nan("");
  };
  const RidgeFit decoder = ridge_fit(xf, yf, l2_, intercept_);
  const torch::Tensor y_score = yo.to(torch::kFloat64);
  const std::vector<double> r2 = column_r2(y_score, decoder.predict(xo));
  int undefined = 0;
  m.emplace_back("id/r2", mean_defined(r2, &undefined));
  m.emplace_back("id/r2_undefined", undefined);
  m.emplace_back("id/r2_cg", mean_defined(ridge_cg_r2(xf, yf, xo, yo)));
  if (!x_[id].empty())
    m.emplace_back("id/r2_all",
                   mean_defined(column_r2(torch::cat({torch::cat(y_[id]), yo}).to(torch::kFloat64),
                                          decoder.predict(torch::cat({torch::cat(x_[id]), xo})))));
  // A fixed shuffle, so the control is as deterministic as the rest of the evaluation.
  const int64_t n = yf.size(0);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(0x5ca7);
  for (int64_t i = n - 1; i > 0; --i)
    std::swap(order[i], order[rng.uniform_int(static_cast<uint64_t>(i + 1))]);
  const torch::Tensor shuffled = yf.index_select(0, torch::tensor(order));
  m.emplace_back("id/r2_shuffled", mean_defined(ridge_r2(xf, shuffled, xo, yo, l2_, intercept_)));
  if (r2.size() <= 64)
    for (size_t j = 0; j < r2.size(); ++j) m.emplace_back(fmt::format("id/r2_{}", j), r2[j]);
  for (size_t k = 0; k < scored_names_.size(); ++k)
    m.emplace_back("id/r2_" + scored_names_[k],
                   mean_defined(column_r2(torch::cat(scored_y_[k]).to(torch::kFloat64),
                                          decoder.predict(torch::cat(scored_x_[k])))));
  if (student_bank.defined() && teacher_bank.defined() &&
      student_bank.size(0) == decoder.w.size(0) && teacher_bank.size(0) == decoder.w.size(1) &&
      student_bank.size(1) == teacher_bank.size(1)) {
    const torch::Tensor best = template_alignment(decoder, student_bank, teacher_bank);
    m.emplace_back("id/alignment", best.mean().item<double>());
    m.emplace_back("id/alignment_min", best.min().item<double>());
    const torch::Tensor hidden = best.mean(0), module = best.mean(1);
    const auto worst = [&](const char* name, const torch::Tensor& mean) {
      const int64_t i = mean.argmin().item<int64_t>();
      m.emplace_back(fmt::format("id/alignment_worst_{}", name), static_cast<double>(i));
      m.emplace_back(fmt::format("id/alignment_worst_{}_mean", name), mean[i].item<double>());
    };
    worst("hidden", hidden);
    worst("module", module);
    if (hidden.size(0) <= 64)
      for (int64_t o = 0; o < hidden.size(0); ++o)
        m.emplace_back(fmt::format("id/alignment_hidden_{}", o), hidden[o].item<double>());
  }
}

}  // namespace hc::trainer
