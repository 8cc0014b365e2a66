// What a learner adapts on and is scored on: rows of (input, target) pairs of one task.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "tasks/task_space.h"

namespace hc::tasks {

// What the rows of a dataset ask a policy to predict.
enum class TargetKind {
  kLabels,      // one class per row (expert actions): cross-entropy, accuracy
  kSoft,        // a probability vector per row: cross-entropy to soft targets, argmax accuracy
  kValues,      // a value per class (action values): squared error, R^2, greedy accuracy
  kActions,     // a continuous action vector per row (the expert's): squared error, R^2, and an
                // accuracy that counts a prediction within the family's action_tolerance()
  kRegression,  // real-valued outputs: squared error averaged over the outputs, R^2 and the
                // loss relative to the targets' power; no accuracy
};
std::string_view to_string(TargetKind k);

// Rows of (input, target) pairs of one task. Rows of a demonstration are consecutive.
struct Dataset {
  int64_t rows = 0;
  std::vector<float> inputs;     // rows x input_dim
  std::vector<int32_t> labels;   // rows: the target class (expert action, argmax of soft
                                 // targets, greedy action); empty for kActions, kRegression
  std::vector<float> targets;    // rows x output_dim for every kind but kLabels
  std::vector<float> mask;       // rows: 1 if the row counts in losses and accuracies, else 0
  std::vector<int32_t> episode;  // rows: demonstration index (empty for i.i.d. samples)
  std::vector<int32_t> step;     // rows: time step within the demonstration
  int episodes = 0;              // number of demonstrations (0 for i.i.d. samples)
};

struct TaskData {
  Task task;                  // with its continuous weights, if the family draws them
  std::vector<float> latent;  // ground-truth task embedding (never shown to meta-learners)
  Dataset support, query;
};

}  // namespace hc::tasks
