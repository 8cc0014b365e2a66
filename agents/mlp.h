// Monolithic MLP policies (standard dense layers, ReLU):
//   anil          the body is meta-learned and shared; the inner loop adapts the last layer.
//   learned_init  the inner loop adapts every weight from a meta-learned initialisation (MAML).
// Conditioned on a task latent (imitation), the latent is concatenated to the input: it enters
// the first layer through its own weight, i.e. as a per-task bias.
#pragma once

#include "agents/policy.h"
#include "base/rng.h"

namespace hc::agents {

struct MlpShape {
  int64_t in = 0, hidden = 0, num_hidden = 1, out = 0;
  bool adapt_all = false;  // learned_init (true) or anil (false)
  int64_t latent = 0;      // > 0: task-conditioned (imitation); every layer is then per task
};

class Mlp : public PolicyImpl {
 public:
  Mlp(const MlpShape& s, Rng& rng);
  Fast init_fast(int64_t tasks) override;
  std::vector<std::string> fast_names() const override;
  Features encode(const Inputs& x) override;
  torch::Tensor first(const Fast& fast, const Features& f) override;
  std::vector<Layer> layers(const Fast& fast) override;
  std::vector<Layer> network(const Fast& fast) override;
  Fast fast_from_latent(const torch::Tensor& latent) override;

 private:
  bool all_per_task() const { return s_.adapt_all || s_.latent > 0; }
  MlpShape s_;
  std::vector<torch::Tensor> w_, b_;  // layer i: w [in, out], b [out]
  torch::Tensor latent_w_;            // [latent, hidden]
};

}  // namespace hc::agents
