#include "trainer/open_loop.h"

#include <cmath>
#include <limits>

namespace hc::trainer {

using tasks::TargetKind;

double metric(const Metrics& m, const std::string& name) {
  for (const auto& [k, v] : m)
    if (k == name) return v;
  return std::numeric_limits<double>::quiet_NaN();
}

torch::Tensor correct_rows(const torch::Tensor& out, const agents::Targets& y, double tolerance) {
  if (y.kind == TargetKind::kActions)
    return (out - y.values).abs().amax(-1).le(tolerance).to(torch::kFloat32) * y.mask;
  return out.argmax(-1).eq(y.labels).to(torch::kFloat32) * y.mask;
}

void OpenLoopStats::add(const torch::Tensor& out, const SetTensors& q,
                        const torch::Tensor& support_before, const torch::Tensor& support_after) {
  const torch::Tensor loss_t = agents::task_loss(out, q.y);
  const torch::Tensor mask = q.y.mask;
  const torch::Tensor correct = correct_rows(out, q.y, tolerance_);
  const torch::Tensor acc_t = correct.sum(1) / mask.sum(1).clamp_min(1.0);
  regression_ = q.y.kind == TargetKind::kRegression;
  tasks_ += out.size(0);
  loss_ += loss_t.sum().item<double>();
  acc_ += acc_t.sum().item<double>();
  before_ += support_before.sum().item<double>();
  after_ += support_after.sum().item<double>();
  if (q.y.kind != TargetKind::kLabels && q.y.kind != TargetKind::kSoft) {
    const torch::Tensor m = mask.unsqueeze(-1);
    sse_ += ((out - q.y.values).square() * m).sum().item<double>();
    sum_ += (q.y.values * m).sum().item<double>();
    sum2_ += (q.y.values.square() * m).sum().item<double>();
    count_ += mask.sum().item<double>() * static_cast<double>(out.size(2));
  }
  // Demonstrations: whole-demo, first-step and last-step accuracy.
  const auto ep = q.episode.accessor<int64_t, 2>();
  const auto ok = correct.accessor<float, 2>();
  const auto valid = mask.accessor<float, 2>();
  for (int64_t t = 0; t < out.size(0); ++t) {
    int64_t current = -1;
    bool all = true, last_ok = false;
    for (int64_t r = 0; r < q.episode.size(1); ++r) {
      if (ep[t][r] < 0 || valid[t][r] == 0.0f) continue;
      const bool c = ok[t][r] > 0.0f;
      if (ep[t][r] != current) {
        if (current >= 0) whole_ += all, last_ += last_ok;
        current = ep[t][r];
        ++demos_;
        first_ += c;
        all = true;
      }
      all = all && c;
      last_ok = c;
    }
    if (current >= 0) whole_ += all, last_ += last_ok;
  }
}

void OpenLoopStats::emit(const std::string& name, Metrics& m) const {
  const double n = static_cast<double>(std::max<int64_t>(tasks_, 1));
  m.emplace_back(name + "/loss", loss_ / n);
  // Regression targets have no accuracy; their loss relative to the targets' power is the
  // reference's relative_wrt_population_loss, 0.5 * sum of squared errors / sum of squared
  // targets (0.5 for a prediction of zero).
  if (regression_)
    m.emplace_back(name + "/rel_loss", sum2_ > 0 ? 0.5 * sse_ / sum2_ : std::nan(""));
  else
    m.emplace_back(name + "/acc", acc_ / n);
  if (demos_ > 0) {
    m.emplace_back(name + "/acc_episode", static_cast<double>(whole_) / demos_);
    m.emplace_back(name + "/acc_first", static_cast<double>(first_) / demos_);
    m.emplace_back(name + "/acc_last", static_cast<double>(last_) / demos_);
  }
  if (count_ > 0) {
    const double sst = sum2_ - sum_ * sum_ / count_;
    m.emplace_back(name + "/r2", sst > 0 ? 1.0 - sse_ / sst : std::nan(""));
  }
  m.emplace_back(name + "/support_loss_before", before_ / n);
  m.emplace_back(name + "/support_loss_after", after_ / n);
}

}  // namespace hc::trainer
