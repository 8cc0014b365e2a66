#include "trainer/probe/train.h"

#include <chrono>
#include <cmath>
#include <numeric>

#include "base/rng.h"

namespace hc::probe {

double mask_temperature(int epoch, int epochs, double final) {
  return std::pow(final, static_cast<double>(epoch) / static_cast<double>(epochs));
}

double penalty_weight(const ProbeConfig& config, int64_t masked, double loss_scale) {
  if (config.lambda_weights <= 0.0 || masked <= 0) return config.lambda * loss_scale;
  return config.lambda * config.lambda_weights / static_cast<double>(masked) * loss_scale;
}

double loss_scale(const ProbeConfig& config, tasks::TargetKind kind, double chance_loss) {
  if (!config.lambda_loss || kind != tasks::TargetKind::kActions || !(chance_loss > 0.0))
    return 1.0;
  return chance_loss / std::log(2.0);
}

MaskTraining train_mask(MaskedPolicy& model,
                        const std::vector<std::vector<trainer::Batch>>& batches,
                        const ProbeConfig& config, const MaskSetting& setting, uint64_t seed,
                        double loss_scale) {
  return train_mask(
      model, [&](int) -> const std::vector<std::vector<trainer::Batch>>& { return batches; },
      config, setting, seed, loss_scale);
}

MaskTraining train_mask(MaskedPolicy& model, const EpochBatches& epoch_batches,
                        const ProbeConfig& config, const MaskSetting& setting, uint64_t seed,
                        double loss_scale) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<MaskUnit>& units = model.units();
  const std::vector<bool> on = parse_layers(setting.layers, units);
  MaskTraining r;
  r.logits.resize(units.size());
  std::vector<torch::Tensor> params;
  int64_t masked = 0;
  for (size_t u = 0; u < units.size(); ++u)
    if (on[u]) {
      params.push_back(r.logits[u] = torch::full(units[u].shape, setting.init).requires_grad_());
      masked += units[u].numel();
    }
  const double lambda = penalty_weight(config, masked, loss_scale);
  torch::optim::Adam adam(params, torch::optim::AdamOptions(setting.lr));
  Rng rng(seed);
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    const double temperature = mask_temperature(epoch, config.epochs, config.final_temperature);
    const std::vector<std::vector<trainer::Batch>>& batches = epoch_batches(epoch);
    std::vector<size_t> order(batches.size());
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(std::span(order));
    double loss = 0.0;
    for (size_t b : order) {
      MaskValues mask(units.size()), grad;
      {
        torch::NoGradGuard no_grad;
        for (size_t u = 0; u < units.size(); ++u)
          if (on[u]) mask[u] = torch::sigmoid(temperature * r.logits[u]);
      }
      const double task = model.loss_and_grad(batches[b], mask, grad);
      if (r.steps == 0) {
        r.first_loss = task;
        for (const auto& m : mask)
          if (m.defined()) r.first_penalty += lambda * m.sum().item<double>();
      }
      loss += task;
      ++r.steps;
      torch::NoGradGuard no_grad;
      for (size_t u = 0; u < units.size(); ++u) {
        if (!on[u]) continue;
        // d/ds of (task loss + lambda sum m) with m = sigmoid(T s): (dL/dm + lambda) T m (1 - m).
        r.logits[u].mutable_grad() = (grad[u] + lambda) * (temperature * mask[u] * (1 - mask[u]));
      }
      adam.step();
    }
    r.final_loss = loss / static_cast<double>(std::max<size_t>(order.size(), 1));
  }
  for (auto& l : r.logits)
    if (l.defined()) l = l.detach();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace hc::probe
