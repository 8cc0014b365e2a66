// Identification: how well the true task latents can be read linearly off the adapted task
// parameters -- ridge regression fitted on in-distribution tasks, R^2 scored on held-out ones.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "agents/policy.h"
#include "trainer/open_loop.h"

namespace hc::trainer {

// Ridge regression (l2 penalty `l2`, unpenalised intercept) from features to targets, fitted on
// (x_fit, y_fit); returns R^2 of each target column on (x_score, y_score), NaN where the scored
// column has no variance.
std::vector<double> ridge_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                             const torch::Tensor& x_score, const torch::Tensor& y_score,
                             double l2 = 1.0);

// The adapted fast parameters of each task as one feature row, [T, features].
torch::Tensor flatten_fast(const agents::Fast& fast);

// Collects (adapted parameters, latent) pairs of fit and score tasks, then scores the decoder.
class IdentificationProbe {
 public:
  explicit IdentificationProbe(int64_t tasks) : limit_(tasks) {}
  // Adds up to the probe's task count of rows, `seen` tasks of the set having come before.
  void add_fit(const agents::Fast& fast, const torch::Tensor& latents, int64_t seen);
  void add_score(const agents::Fast& fast, const torch::Tensor& latents, int64_t seen);
  // id/r2 (mean over latent columns with variance) and id/r2_<j> (up to 64 columns).
  void emit(Metrics& m) const;

 private:
  static void add(std::vector<torch::Tensor>& x, std::vector<torch::Tensor>& y,
                  const agents::Fast& fast, const torch::Tensor& latents, int64_t take);
  int64_t limit_;
  std::vector<torch::Tensor> fit_x_, fit_y_, score_x_, score_y_;
};

}  // namespace hc::trainer
