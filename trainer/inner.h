// Differentiable inner-loop optimisers: every update is a tensor expression of the previous
// parameters and gradients, so the outer loss can be differentiated through the whole loop.
// Adam/AdamW follow optax (bias-corrected moments, eps_root inside the square root so that its
// derivative stays finite at zero gradients); AdamW adds decoupled weight decay.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace hc::trainer {

struct InnerOptimizer {
  std::string kind = "adamw";  // sgd, adam, adamw
  double lr = 0.1;
  double weight_decay = 1e-4;  // adamw only
  double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double eps_root = 1.1920928955078125e-07;  // float32 machine epsilon

  struct State {
    std::vector<torch::Tensor> m, v;
    int t = 0;
  };
  State init(const std::vector<torch::Tensor>& params) const;
  // One update; returns the new parameters.
  std::vector<torch::Tensor> step(const std::vector<torch::Tensor>& params,
                                  const std::vector<torch::Tensor>& grads, State& state) const;
};

}  // namespace hc::trainer
