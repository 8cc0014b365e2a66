// A family of tasks: its task space and splits, and for any task and seed the support and query
// datasets a learner adapts and is scored on.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/core/env.h"
#include "envs/core/task_space.h"

namespace hc::envs {

// What the rows of a dataset ask a policy to predict.
enum class TargetKind {
  kLabels,  // one class per row (expert actions): cross-entropy, accuracy
  kSoft,    // a probability vector per row: cross-entropy to soft targets, argmax accuracy
  kValues,  // a value per class (action values): squared error, R^2, greedy accuracy
};
std::string_view to_string(TargetKind k);

// Rows of (input, target) pairs of one task. Rows of a demonstration are consecutive.
struct Dataset {
  int64_t rows = 0;
  std::vector<float> inputs;     // rows x input_dim
  std::vector<int32_t> labels;   // rows: the target class (expert action, argmax of soft targets)
  std::vector<float> targets;    // rows x output_dim for kSoft and kValues; empty for kLabels
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

class TaskFamily {
 public:
  // `continuous_weights`: task instances draw continuous combination weights (k-hot spaces).
  TaskFamily(std::string name, TaskSpace space, SplitSpec split, uint64_t seed,
             bool continuous_weights);
  virtual ~TaskFamily() = default;

  const std::string& name() const { return name_; }
  const TaskSpace& task_space() const { return space_; }
  const SplitSpec& split_spec() const { return split_; }
  const Splits& splits() const { return splits_; }
  uint64_t seed() const { return seed_; }  // seed of the family's fixed parts (mazes, modules)

  virtual int input_dim() const = 0;
  virtual int output_dim() const = 0;
  virtual TargetKind target_kind() const = 0;
  // Observations are one-hot (every input is 0 or 1), so sparse input paths apply.
  virtual bool binary_inputs() const { return false; }

  // The task instance used for data with this seed: a validated copy of `task` with its
  // continuous combination weights drawn from `seed` where the family uses them.
  Task instance(const Task& task, uint64_t seed) const;
  bool continuous_weights() const { return continuous_; }

  // Support and query data of `task`; deterministic in (task, seed). Thread-safe.
  virtual TaskData make_task_data(const Task& task, uint64_t seed) const = 0;

  // Environment families only; the others return nullptr.
  virtual std::unique_ptr<Env> make_env() const { return nullptr; }
  virtual std::unique_ptr<Expert> make_expert() const { return nullptr; }
  // Discount used for returns and action values (1 if undiscounted).
  virtual double discount() const { return 1.0; }
  // Whether an episode solved its task, given the expert's optimal return from its start
  // (closed-loop evaluation). Default: the discounted return reaches the optimum.
  virtual bool success(const Episode& episode, double optimal_return) const;

  // The resolved configuration, as it would be written in a config file's `family` section
  // (`name` first, then config_fields()).
  YAML::Node config() const;

 protected:
  virtual YAML::Node config_fields() const = 0;

 private:
  std::string name_;
  TaskSpace space_;
  SplitSpec split_;
  uint64_t seed_;
  bool continuous_;
  Splits splits_;
};

// Demonstrations per set, shared by the environment families' configs.
struct DemoConfig {
  int support_demos = 1;  // expert demonstrations in the support set
  int query_demos = 1;    // expert demonstrations in the query set
};

// An environment family's datasets are expert demonstrations: each row is an observation with
// the expert's action (and, for kValues, the optimal action values) as the target.
class EnvFamily : public TaskFamily {
 public:
  EnvFamily(std::string name, TaskSpace space, SplitSpec split, uint64_t seed,
            bool continuous_weights, DemoConfig demos, ObservationSpec obs, ActionSpec act);

  int input_dim() const override { return static_cast<int>(obs_spec_.size()); }
  int output_dim() const override { return act_spec_.n; }
  bool binary_inputs() const override { return obs_spec_.binary; }
  TaskData make_task_data(const Task& task, uint64_t seed) const override;

  const DemoConfig& demos() const { return demos_; }
  const ObservationSpec& observation_spec() const { return obs_spec_; }
  const ActionSpec& action_spec() const { return act_spec_; }

 private:
  void append_demo(Env& env, const Expert& expert, uint64_t seed, const Task& task,
                   Dataset& out) const;
  DemoConfig demos_;
  ObservationSpec obs_spec_;
  ActionSpec act_spec_;
};

}  // namespace hc::envs
