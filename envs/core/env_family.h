// Families whose tasks are played in an environment: their datasets are expert demonstrations,
// one row per step (the observation, and the expert's action, action vector or action values as
// the target).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "envs/core/env.h"
#include "tasks/task_family.h"

namespace hc::envs {

using tasks::Dataset;
using tasks::SplitSpec;
using tasks::TargetKind;
using tasks::TaskData;

// Demonstrations per set, shared by the environment families' configs.
struct DemoConfig {
  int support_demos = 1;  // expert demonstrations in the support set
  int query_demos = 1;    // expert demonstrations in the query set

  template <class V>
  void fields(V& v) {
    v("support_demos", support_demos, "expert demonstrations per support set", in_range(1, 1024));
    v("query_demos", query_demos, "expert demonstrations per query set", in_range(1, 1024));
  }
};

class EnvFamily : public tasks::TaskFamily {
 public:
  EnvFamily(std::string name, TaskSpace space, SplitSpec split, uint64_t seed,
            bool continuous_weights, DemoConfig demos, ObservationSpec obs, ActionSpec act);

  int input_dim() const override { return static_cast<int>(obs_spec_.size()); }
  int output_dim() const override { return act_spec_.n; }
  bool binary_inputs() const override { return obs_spec_.binary; }
  // Discrete actions: the expert's action as a label; a box: the expert's action vector.
  TargetKind target_kind() const override {
    return act_spec_.discrete ? TargetKind::kLabels : TargetKind::kActions;
  }
  // Demonstrations of `task`, each played through envs::rollout. Thread-safe.
  TaskData make_task_data(const Task& task, uint64_t seed) const override;
  // Plays the query demonstrations of `data`, made by make_task_data from `seed`, again: an
  // environment reset as they were and stepped with their recorded actions, visit(env, row)
  // called in the state of every query row before its action. Environments are deterministic,
  // so these are the demonstrations' states (what a family can ask of them that its rows do
  // not hold, such as what the expert would do under another task). Thread-safe.
  void replay_query(const TaskData& data, uint64_t seed,
                    const std::function<void(Env& env, int64_t row)>& visit) const;

  virtual std::unique_ptr<Env> make_env() const = 0;
  virtual std::unique_ptr<Expert> make_expert() const = 0;
  // Discount used for returns and action values (1 if undiscounted).
  virtual double discount() const { return 1.0; }
  // The share of episodes, over all tasks, that the expert must solve: 1 for experts with exact
  // values (they are checked for optimality too), lower for scripted controllers.
  virtual double expert_success_threshold() const { return 1.0; }

  const DemoConfig& demos() const { return demos_; }
  const ObservationSpec& observation_spec() const { return obs_spec_; }
  const ActionSpec& action_spec() const { return act_spec_; }

 private:
  DemoConfig demos_;
  ObservationSpec obs_spec_;
  ActionSpec act_spec_;
};

// The seeds of a task's episodes, from the data seed of its TaskData: the d-th support and query
// demonstrations, and the episode a policy adapted on them plays (closed-loop evaluation), which
// is none of the demonstrations.
uint64_t support_demo_seed(uint64_t data_seed, int d);
uint64_t query_demo_seed(uint64_t data_seed, int d);
uint64_t closed_loop_seed(uint64_t data_seed);

// The family as an environment family, or nullptr if its tasks have no environment.
const EnvFamily* as_env_family(const tasks::TaskFamily& family);
// The same, or an Error saying that `what` needs a family with an environment.
const EnvFamily& require_env_family(const tasks::TaskFamily& family, std::string_view what);

}  // namespace hc::envs
