#include "agents/init.h"

namespace hc::agents {

torch::Tensor truncated_normal(torch::IntArrayRef shape, double std, Rng& rng) {
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(std * rng.truncated_normal());
  return t;
}

torch::Tensor uniform(torch::IntArrayRef shape, double lo, double hi, Rng& rng) {
  torch::Tensor t = torch::empty(shape, torch::kFloat32);
  float* p = t.data_ptr<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.uniform(lo, hi));
  return t;
}

}  // namespace hc::agents
