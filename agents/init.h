// Parameter initialisers drawing from hc::Rng, so that a seed gives the same initial network
// whatever LibTorch's own generators do.
#pragma once

#include <torch/torch.h>

#include "base/rng.h"

namespace hc::agents {

// Normal(0, std) truncated at two standard deviations.
torch::Tensor truncated_normal(torch::IntArrayRef shape, double std, Rng& rng);
// Uniform in [lo, hi).
torch::Tensor uniform(torch::IntArrayRef shape, double lo, double hi, Rng& rng);

}  // namespace hc::agents
