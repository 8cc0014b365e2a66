// Identification: how well the true task latents can be read linearly off the adapted task
// parameters -- ridge regression fitted on in-distribution tasks, R^2 scored on held-out ones.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "agents/policy.h"
#include "trainer/open_loop.h"

namespace hc::trainer {

// Ridge regression (l2 penalty `l2`, unpenalised intercept) from features to targets, solved
// exactly on (x_fit, y_fit); returns R^2 of each target column on (x_score, y_score), NaN where
// the scored column has no variance.
std::vector<double> ridge_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                             const torch::Tensor& x_score, const torch::Tensor& y_score,
                             double l2 = 1.0);

// The reference implementation's estimator: features not centred, an intercept column (1 where
// every feature of the row is non-zero) penalised like the weights, and the normal equations
// (X'X + l2 I) w = X'y solved per target column by `iterations` conjugate-gradient steps from
// zero (stopping early at a residual of 1e-5 of the right-hand side). Few iterations leave the
// solution regularised towards zero, so it can read less than the exact solve.
std::vector<double> ridge_cg_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                                const torch::Tensor& x_score, const torch::Tensor& y_score,
                                double l2 = 1.0, int iterations = 10);

// The adapted fast parameters of each task as one feature row, [T, features].
torch::Tensor flatten_fast(const agents::Fast& fast);

// Collects (adapted parameters, latent) pairs of tasks, then scores linear decoders.
//   fit    training combinations (the `test` set): the decoder is fitted on them;
//   id     other training-combination tasks (the `valid` set);
//   ood    held-out combinations.
// Metrics (each R^2 a mean over the latent columns that vary in the scored set):
//   id/r2             exact ridge, scored on ood; id/r2_<j> per column (up to 64 columns)
//   id/r2_undefined   columns without variance on ood, left out of id/r2 (a held-out module
//                     that is always active there, as with non_compositional support)
//   id/r2_cg          the reference's estimator (ridge_cg_r2), scored on ood
//   id/r2_all         exact ridge scored on id and ood together: every column varies, so a
//                     module never trained shows as a failure instead of being left out
//   id/r2_shuffled    control: the decoder fitted on latents shuffled across the fit tasks and
//                     scored on ood; what a decoder reads with no task information (about 0 or
//                     below)
class IdentificationProbe {
 public:
  enum class Role { kFit, kId, kOod };
  explicit IdentificationProbe(int64_t tasks) : limit_(tasks) {}
  // Adds up to the probe's task count of rows to a role, `seen` tasks of its set having come
  // before.
  void add(Role role, const agents::Fast& fast, const torch::Tensor& latents, int64_t seen);
  void emit(Metrics& m) const;

 private:
  int64_t limit_;
  std::vector<torch::Tensor> x_[3], y_[3];
};

}  // namespace hc::trainer
