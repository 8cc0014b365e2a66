// A family of tasks: its task space and splits, and for any task and seed the support and query
// datasets a learner adapts and is scored on. Families with an environment derive from
// envs::EnvFamily (envs/core/env_family.h); envs::as_env_family asks whether a family has one.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tasks/dataset.h"
#include "tasks/subroutine.h"
#include "tasks/task_space.h"

namespace hc::tasks {

// The weights a family's ground-truth modules generate for one layer of its network: the
// matrix each module contributes, for comparing a learner's module bank with them.
struct ModuleBank {
  int modules = 0, in = 0, out = 0;
  std::vector<float> weights;  // modules x in x out
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
  // kActions: a predicted action counts as right when every component is within this distance
  // of the expert's, in the action's own units.
  virtual double action_tolerance() const { return 0.0; }
  // Observations are one-hot (every input is 0 or 1), so sparse input paths apply.
  virtual bool binary_inputs() const { return false; }

  // The task instance used for data with this seed: a validated copy of `task` with its
  // continuous combination weights drawn from `seed` where the family uses them.
  Task instance(const Task& task, uint64_t seed) const;
  bool continuous_weights() const { return continuous_; }

  // Support and query data of `task`; deterministic in (task, seed). Thread-safe.
  virtual TaskData make_task_data(const Task& task, uint64_t seed) const = 0;
  // The same for the held-out evaluation sets (OOD, OOD by hotness). Families whose held-out
  // tasks are drawn differently from their training tasks override it (theory: continuous
  // combination weights on every held-out set, whatever training used).
  virtual TaskData make_held_out_data(const Task& task, uint64_t seed) const {
    return make_task_data(task, seed);
  }

  // The ground-truth modules of the layer a family's code generates, where it has one.
  virtual std::optional<ModuleBank> generated_bank() const { return std::nullopt; }

  // The parts of the composite behaviour that the structural compositionality probe can
  // isolate (tasks/subroutine.h); none by default. Names are unique.
  virtual std::vector<Subroutine> subroutines() const { return {}; }

  // The resolved configuration, as it would be written in a config file's `family` section
  // (`name` first, then config_fields()).
  YAML::Node config() const;

 protected:
  virtual YAML::Node config_fields() const = 0;
  // instance() with continuous weights drawn or not, whatever the family's setting.
  Task instance(const Task& task, uint64_t seed, bool continuous) const;

 private:
  std::string name_;
  TaskSpace space_;
  SplitSpec split_;
  uint64_t seed_;
  bool continuous_;
  Splits splits_;
};

}  // namespace hc::tasks
