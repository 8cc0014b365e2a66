#include "trainer/inner.h"

#include <cmath>

namespace hc::trainer {

InnerOptimizer::State InnerOptimizer::init(const std::vector<torch::Tensor>& params) const {
  State s;
  if (kind != InnerKind::kSgd)
    for (const auto& p : params) {
      s.m.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
      s.v.push_back(torch::zeros_like(p, torch::MemoryFormat::Contiguous));
    }
  return s;
}

std::vector<torch::Tensor> InnerOptimizer::clip(const std::vector<torch::Tensor>& grads) const {
  torch::Tensor sq;
  for (const auto& g : grads) {
    const torch::Tensor t = g.reshape({g.size(0), -1}).square().sum(1);
    sq = sq.defined() ? sq + t : t;
  }
  // eps inside the root keeps the derivative of the norm finite at a zero gradient.
  const torch::Tensor scale = (grad_clip / (sq + 1e-12).sqrt()).clamp_max(1.0);
  std::vector<torch::Tensor> out;
  for (const auto& g : grads) {
    std::vector<int64_t> shape(g.dim(), 1);
    shape[0] = g.size(0);
    out.push_back(g * scale.view(shape));
  }
  return out;
}

std::vector<torch::Tensor> InnerOptimizer::step(const std::vector<torch::Tensor>& params,
                                                const std::vector<torch::Tensor>& grads,
                                                State& s) const {
  std::vector<torch::Tensor> out(params.size());
  const std::vector<torch::Tensor> clipped = grad_clip > 0.0 ? clip(grads) : grads;
  if (kind == InnerKind::kSgd) {
    for (size_t i = 0; i < params.size(); ++i) out[i] = params[i] - lr * clipped[i];
    return out;
  }
  ++s.t;
  const double c1 = 1.0 - std::pow(b1, s.t), c2 = 1.0 - std::pow(b2, s.t);
  for (size_t i = 0; i < params.size(); ++i) {
    const torch::Tensor& g = clipped[i];
    s.m[i] = b1 * s.m[i] + (1.0 - b1) * g;
    s.v[i] = b2 * s.v[i] + (1.0 - b2) * g * g;
    torch::Tensor update = (s.m[i] / c1) / ((s.v[i] / c2 + eps_root).sqrt() + eps);
    if (kind == InnerKind::kAdamw && weight_decay > 0.0) update = update + weight_decay * params[i];
    out[i] = params[i] - lr * update;
  }
  return out;
}

}  // namespace hc::trainer
