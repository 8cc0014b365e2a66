// Per-task losses of policy outputs against a family's targets, and their gradients with
// respect to the outputs in closed form (the inner loop differentiates through those).
#pragma once

#include <torch/torch.h>

#include "tasks/dataset.h"

namespace hc::agents {

struct Targets {
  tasks::TargetKind kind = tasks::TargetKind::kLabels;
  torch::Tensor labels;  // [T, N] int64: expert action, argmax of soft targets, greedy action
  torch::Tensor values;  // [T, N, C] float32: soft targets, action values or action vectors
                         // (undefined for labels)
  torch::Tensor mask;    // [T, N] float32: 1 for rows that count
  torch::Tensor
      weight;  // [T, N] float32: mask / (valid rows of the task), the row weights of a mean
  torch::Tensor entropy;  // [T] float32: target entropy (soft targets), makes cross-entropy a KL
  torch::Tensor one_hot;  // [T, N, C] float32: labels as one-hot (labels kind)

  // Fills weight, entropy and one_hot from labels/values/mask.
  void finish(int64_t classes);
  Targets slice(int64_t begin, int64_t end) const;  // tasks [begin, end)
};

// Masked mean loss of each task, [T]:
//  labels: cross-entropy; soft: KL(target || softmax); values and actions: 0.5 * squared error
//  summed over the output's components (as the reference implementation for values);
//  regression: 0.5 * squared error averaged over the components (the reference's theory loss).
torch::Tensor task_loss(const torch::Tensor& outputs, const Targets& y);
// d(sum over tasks of task_loss) / d outputs, [T, N, C], built from differentiable operations.
torch::Tensor task_loss_grad(const torch::Tensor& outputs, const Targets& y);

}  // namespace hc::agents
