// Evaluation of a learner on fixed sets of tasks: query loss and accuracy (or R^2 of action
// values) in-distribution and OOD (per hotness where the family has it), identification of the
// true task latents from the adapted parameters, and closed-loop success in the environment.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "tasks/task_family.h"
#include "trainer/batch.h"
#include "trainer/config.h"
#include "trainer/meta_learner.h"

namespace hc::trainer {

// Named values in a fixed order, e.g. ("ood/acc", 0.93).
using Metrics = std::vector<std::pair<std::string, double>>;
double metric(const Metrics& m, const std::string& name);  // NaN if absent

struct EvalSet {
  std::string name;  // test (training combinations, fresh data), valid, ood, ood_hot<h>
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
};

// The evaluation sets of a run: fixed by the seed, the same at every evaluation.
std::vector<EvalSet> make_eval_sets(const tasks::TaskFamily& family, const EvalConfig& config,
                                    uint64_t seed);

// Ridge regression (l2 penalty `l2`, unpenalised intercept) from features to targets, fitted on
// (x_fit, y_fit); returns R^2 of each target column on (x_score, y_score), NaN where the scored
// column has no variance.
std::vector<double> ridge_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                             const torch::Tensor& x_score, const torch::Tensor& y_score,
                             double l2 = 1.0);

class Evaluator {
 public:
  Evaluator(const tasks::TaskFamily& family, const EvalConfig& config, uint64_t seed, int chunk,
            int shards);
  Metrics run(Learner& learner);
  const std::vector<EvalSet>& sets() const { return sets_; }

 private:
  struct Prepared {
    EvalSet set;
    std::vector<std::vector<Batch>> chunks;  // chunks of at most `chunk` tasks, in shards
  };
  const tasks::TaskFamily& family_;
  EvalConfig config_;
  std::vector<EvalSet> sets_;
  std::vector<Prepared> prepared_;
};

}  // namespace hc::trainer
