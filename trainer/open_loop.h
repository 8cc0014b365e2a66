// Open-loop evaluation: how well adapted policies predict the expert on query sets -- loss,
// per-row accuracy (or R^2 of values and action vectors), and per-demonstration accuracy.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "trainer/batch.h"

namespace hc::trainer {

// Named values in a fixed order, e.g. ("ood/acc", 0.93).
using Metrics = std::vector<std::pair<std::string, double>>;
double metric(const Metrics& m, const std::string& name);  // NaN if absent

// Whether each row's prediction is right, [T, N] float (0/1, 0 on padding): the argmax is the
// target class, or for action vectors every component is within `tolerance` of the expert's.
torch::Tensor correct_rows(const torch::Tensor& outputs, const agents::Targets& y,
                           double tolerance);

// Sums over the tasks of one evaluation set, turned into means by emit().
class OpenLoopStats {
 public:
  explicit OpenLoopStats(double action_tolerance = 0.0) : tolerance_(action_tolerance) {}
  // Adds the query outputs [T, N, C] of a batch and the support losses around adaptation.
  void add(const torch::Tensor& outputs, const SetTensors& query,
           const torch::Tensor& support_before, const torch::Tensor& support_after);
  // <set>/loss, /acc (not for regression), /acc_episode, /acc_first, /acc_last
  // (demonstrations), /r2 (values, action vectors, regression), /rel_loss (regression),
  // /support_loss_before, /support_loss_after.
  void emit(const std::string& set, Metrics& m) const;

 private:
  double tolerance_;
  bool regression_ = false;
  int64_t tasks_ = 0;
  double loss_ = 0, acc_ = 0, before_ = 0, after_ = 0;
  int64_t demos_ = 0, whole_ = 0, first_ = 0, last_ = 0;
  double sse_ = 0, sum_ = 0, sum2_ = 0, count_ = 0;
};

}  // namespace hc::trainer
