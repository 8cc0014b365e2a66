#include "agents/loss.h"

namespace hc::agents {

using tasks::TargetKind;

void Targets::finish(int64_t classes) {
  const torch::Tensor count = mask.sum(1, /*keepdim=*/true).clamp_min(1.0);
  weight = mask / count;
  if (kind == TargetKind::kLabels) one_hot = torch::one_hot(labels, classes).to(mask.scalar_type());
  if (kind == TargetKind::kSoft) entropy = -(torch::xlogy(values, values).sum(-1) * weight).sum(1);
}

Targets Targets::slice(int64_t begin, int64_t end) const {
  Targets t;
  t.kind = kind;
  const auto cut = [&](const torch::Tensor& x) {
    return x.defined() ? x.slice(0, begin, end) : torch::Tensor();
  };
  t.labels = cut(labels);
  t.values = cut(values);
  t.mask = cut(mask);
  t.weight = cut(weight);
  t.entropy = cut(entropy);
  t.one_hot = cut(one_hot);
  return t;
}

torch::Tensor task_loss(const torch::Tensor& out, const Targets& y) {
  switch (y.kind) {
    case TargetKind::kLabels: {
      const torch::Tensor nll = -(torch::log_softmax(out, -1) * y.one_hot).sum(-1);
      return (nll * y.weight).sum(1);
    }
    case TargetKind::kSoft: {
      const torch::Tensor ce = -(torch::log_softmax(out, -1) * y.values).sum(-1);
      return (ce * y.weight).sum(1) - y.entropy;
    }
    case TargetKind::kValues:
    case TargetKind::kActions: {
      const torch::Tensor se = 0.5 * (out - y.values).square().sum(-1);
      return (se * y.weight).sum(1);
    }
    case TargetKind::kRegression: {
      const torch::Tensor se =
          (0.5 / static_cast<double>(out.size(-1))) * (out - y.values).square().sum(-1);
      return (se * y.weight).sum(1);
    }
  }
  return {};
}

torch::Tensor task_loss_grad(const torch::Tensor& out, const Targets& y) {
  const torch::Tensor w = y.weight.unsqueeze(-1);
  switch (y.kind) {
    case TargetKind::kLabels:
      return (torch::softmax(out, -1) - y.one_hot) * w;
    case TargetKind::kSoft:
      return (torch::softmax(out, -1) - y.values) * w;
    case TargetKind::kValues:
    case TargetKind::kActions:
      return (out - y.values) * w;
    case TargetKind::kRegression:
      return (out - y.values) * (w / static_cast<double>(out.size(-1)));
  }
  return {};
}

}  // namespace hc::agents
