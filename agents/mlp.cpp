#include "agents/mlp.h"

#include <cmath>

#include "agents/bmm.h"
#include "agents/init.h"

namespace hc::agents {

Mlp::Mlp(const MlpShape& s, Rng& rng) : s_(s) {
  std::vector<int64_t> sizes{s.in};
  for (int64_t i = 0; i < s.num_hidden; ++i) sizes.push_back(s.hidden);
  sizes.push_back(s.out);
  for (size_t i = 0; i + 1 < sizes.size(); ++i) {
    const double std = 1.0 / std::sqrt(static_cast<double>(sizes[i]));
    w_.push_back(register_parameter("w" + std::to_string(i),
                                    truncated_normal({sizes[i], sizes[i + 1]}, std, rng)));
    b_.push_back(register_parameter("b" + std::to_string(i), torch::zeros({sizes[i + 1]})));
  }
  if (s.latent > 0)
    latent_w_ = register_parameter(
        "latent_w", truncated_normal({s.latent, s.hidden},
                                     1.0 / std::sqrt(static_cast<double>(s.in + s.latent)), rng));
}

Fast Mlp::init_fast(int64_t tasks) {
  Fast fast;
  const size_t from = all_per_task() ? 0 : w_.size() - 1;
  for (size_t i = from; i < w_.size(); ++i) {
    fast.push_back(w_[i].expand({tasks, w_[i].size(0), w_[i].size(1)}));
    fast.push_back(b_[i].expand({tasks, b_[i].size(0)}));
  }
  return fast;
}

std::vector<std::string> Mlp::fast_names() const {
  std::vector<std::string> names;
  const size_t from = all_per_task() ? 0 : w_.size() - 1;
  for (size_t i = from; i < w_.size(); ++i) {
    names.push_back("w" + std::to_string(i));
    names.push_back("b" + std::to_string(i));
  }
  return names;
}

Features Mlp::encode(const Inputs& x) {
  if (all_per_task()) return {per_task_layout(x), {}};
  Features f{x, {}};
  // The shared body, computed once for all inner steps.
  torch::Tensor h = torch::relu(shared_linear(x, w_[0], b_[0]));
  for (size_t i = 1; i + 1 < w_.size(); ++i) h = torch::relu(torch::matmul(h, w_[i]) + b_[i]);
  f.h = h;
  return f;
}

torch::Tensor Mlp::first(const Fast& fast, const Features& f) {
  if (!all_per_task()) return task_baddbmm(fast[1], f.h, fast[0]);
  return per_task_linear(f.x, fast[0], fast[1]);
}

std::vector<Layer> Mlp::layers(const Fast& fast) {
  std::vector<Layer> out;
  if (!all_per_task()) return out;
  for (size_t i = 2; i < fast.size(); i += 2) out.push_back({fast[i], fast[i + 1]});
  return out;
}

std::vector<Layer> Mlp::network(const Fast& fast) {
  std::vector<Layer> out;
  if (all_per_task()) {
    for (size_t i = 0; i < fast.size(); i += 2) out.push_back({fast[i], fast[i + 1]});
    return out;
  }
  for (size_t i = 0; i + 1 < w_.size(); ++i)
    out.push_back({w_[i].unsqueeze(0), b_[i].unsqueeze(0)});
  out.push_back({fast[0], fast[1]});
  return out;
}

Fast Mlp::fast_from_latent(const torch::Tensor& latent) {
  Fast fast = init_fast(latent.size(0));
  fast[1] = fast[1] + torch::matmul(latent, latent_w_);
  return fast;
}

}  // namespace hc::agents
