// Differentiable inner-loop optimisers: every update is a tensor expression of the previous
// parameters and gradients, so the outer loss can be differentiated through the whole loop.
// Adam/AdamW follow optax (bias-corrected moments, eps_root inside the square root so that its
// derivative stays finite at zero gradients); AdamW adds decoupled weight decay.
#pragma once

#include <torch/torch.h>

#include "base/config.h"

#include <string>
#include <vector>

namespace hc::trainer {

enum class InnerKind { kSgd, kAdam, kAdamw };

}  // namespace hc::trainer

template <>
struct hc::EnumNames<hc::trainer::InnerKind> {
  using K = hc::trainer::InnerKind;
  static constexpr std::pair<K, const char*> values[] = {
      {K::kSgd, "sgd"}, {K::kAdam, "adam"}, {K::kAdamw, "adamw"}};
};

namespace hc::trainer {

struct InnerOptimizer {
  InnerKind kind = InnerKind::kAdamw;
  double lr = 0.1;
  double weight_decay = 1e-4;  // adamw only
  // Per task, scale the gradient of all fast parameters together to at most this norm (0: off).
  // Bounds every inner step, so a sharp region of the loss cannot throw the inner loop to
  // infinity; the scaling is differentiated like the rest of the step.
  double grad_clip = 0.0;
  double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double eps_root = 1.1920928955078125e-07;  // float32 machine epsilon

  struct State {
    std::vector<torch::Tensor> m, v;
    int t = 0;
  };
  State init(const std::vector<torch::Tensor>& params) const;
  // One update; returns the new parameters. Tensors carry a leading task dimension.
  std::vector<torch::Tensor> step(const std::vector<torch::Tensor>& params,
                                  const std::vector<torch::Tensor>& grads, State& state) const;
  // The gradients scaled per task to norm at most grad_clip.
  std::vector<torch::Tensor> clip(const std::vector<torch::Tensor>& grads) const;
};

}  // namespace hc::trainer
