// Identification: how well the true task latents can be read linearly off the adapted task
// parameters -- ridge regression fitted on in-distribution tasks, R^2 scored on held-out ones.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "agents/policy.h"
#include "trainer/open_loop.h"

namespace hc::trainer {

// Ridge regression (l2 penalty `l2`) from features to targets, solved exactly: with an
// intercept (features and targets centred, the intercept unpenalised) or without (the
// reference theory's decoder). Double precision.
struct RidgeFit {
  torch::Tensor w;       // [features, targets]
  torch::Tensor mx, my;  // means removed before the product (zeros without intercept)
  torch::Tensor predict(const torch::Tensor& x) const;
};
RidgeFit ridge_fit(const torch::Tensor& x, const torch::Tensor& y, double l2, bool intercept);

// R^2 of each target column on (x_score, y_score) of the ridge fitted on (x_fit, y_fit), NaN
// where the scored column has no variance.
std::vector<double> ridge_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                             const torch::Tensor& x_score, const torch::Tensor& y_score,
                             double l2 = 1.0, bool intercept = true);

// The reference's template alignment: how well each teacher module's weights are found among
// combinations of the student's templates. The fitted decoder maps the student's embedding to
// the true code (F = fit.w^T); its pseudo-inverse gives, for each teacher module, the student
// embedding that makes it, and so the student weights of that module, sum_T pinv(F)[T, t] S_T.
// Each hidden unit's weight vector (over the inputs) of teacher and student is normalised; a
// teacher unit's alignment is its best cosine with any student unit. Returns every teacher
// unit's alignment, [M_t, hidden_t]. `student` [M_s, in, hidden_s], `teacher`
// [M_t, in, hidden_t], fit.w [M_s, M_t].
torch::Tensor template_alignment(const RidgeFit& fit, const torch::Tensor& student,
                                 const torch::Tensor& teacher);

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
//   id/r2_<set>       exact ridge scored on each further held-out set (add_scored), e.g. the
//                     OOD-by-hotness sets: id/r2_ood_hot2
//   id/alignment      template alignment (mean over teacher units; id/alignment_min the
//                     worst), when the policy's fast parameters combine an input-layer bank
//                     and the family has ground-truth modules of that layer
//   id/alignment_worst_hidden, _hidden_mean   the teacher hidden unit whose alignment, averaged
//                     over modules, is lowest, and that average; id/alignment_worst_module,
//                     _module_mean the same per module: a shortfall in one hidden unit of every
//                     module points at the unit (say, one the outputs barely read), one in a
//                     single module at that module; id/alignment_hidden_<o> every hidden
//                     unit's average over modules (up to 64 units)
class IdentificationProbe {
 public:
  enum class Role { kFit, kId, kOod };
  // `l2`, `intercept`: the exact ridge decoder's penalty, and whether it has an intercept.
  explicit IdentificationProbe(int64_t tasks, double l2 = 1.0, bool intercept = true)
      : limit_(tasks), l2_(l2), intercept_(intercept) {}
  // Adds up to the probe's task count of rows to a role, `seen` tasks of its set having come
  // before.
  void add(Role role, const agents::Fast& fast, const torch::Tensor& latents, int64_t seen);
  // The same for a further held-out set, scored alone as id/r2_<set>.
  void add_scored(const std::string& set, const agents::Fast& fast, const torch::Tensor& latents,
                  int64_t seen);
  // `student_bank`, `teacher_bank`: for id/alignment (undefined: not computed).
  void emit(Metrics& m, const torch::Tensor& student_bank = {},
            const torch::Tensor& teacher_bank = {}) const;

 private:
  int64_t limit_;
  double l2_;
  bool intercept_;
  std::vector<torch::Tensor> x_[3], y_[3];
  std::vector<std::string> scored_names_;
  std::vector<std::vector<torch::Tensor>> scored_x_, scored_y_;
};

}  // namespace hc::trainer
