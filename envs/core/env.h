// The environment API (Gymnasium-like) and the expert that supervises imitation.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/rng.h"
#include "envs/core/scene.h"
#include "envs/core/spec.h"
#include "tasks/task_space.h"

namespace hc::envs {

// Environments play the tasks of a family's task space.
using tasks::Task;
using tasks::TaskSpace;

[[noreturn]] void throw_wrong_env(const char* who);

struct StepResult {
  float reward = 0.0f;
  bool terminated = false;  // the task's own end (goal reached, episode ended by an action)
  bool truncated = false;   // the time limit was hit
  bool done() const { return terminated || truncated; }
};

// One episode at a time of one family. The base class does the bookkeeping every environment
// shares (action validation, step counting, time limit, stepping a finished episode); a family
// writes only on_reset, on_step, observe and scene.
//
// Episode boundaries: after a step that returns done(), observe() shows the final state and
// further steps throw until the next reset.
class Env {
 public:
  Env(const TaskSpace& space, ObservationSpec obs, ActionSpec act, int max_steps);
  virtual ~Env() = default;

  const ObservationSpec& observation_spec() const { return obs_spec_; }
  const ActionSpec& action_spec() const { return act_spec_; }
  int max_steps() const { return max_steps_; }  // time limit: truncated at this many steps

  // Starts an episode of `task`; all randomness of the episode comes from `seed`.
  // Throws EnvError if the task is not a task of this family.
  void reset(uint64_t seed, const Task& task);
  // Applies one action. Throws EnvError for an invalid action or a finished episode.
  StepResult step(const Action& a);
  StepResult step(int a) { return step(Action::discrete(a)); }

  // Writes the current observation (observation_spec().size() floats) into `out`.
  virtual void observe(std::span<float> out) const = 0;
  std::vector<float> observation() const;

  // Drawing primitives of the current state.
  virtual Scene scene() const = 0;
  // Static layout and positions of the current episode, for `hypercomp demo --json`.
  virtual nlohmann::json describe() const = 0;

  const Task& task() const { return task_; }
  const TaskSpace& task_space() const { return space_; }
  int elapsed() const { return elapsed_; }  // steps taken in this episode
  bool done() const { return done_; }
  bool started() const { return task_.id >= 0; }

 protected:
  virtual void on_reset(Rng& rng, const Task& task) = 0;
  // Called with a validated action on a running episode.
  virtual StepResult on_step(const Action& a) = 0;

 private:
  const TaskSpace& space_;
  ObservationSpec obs_spec_;
  ActionSpec act_spec_;
  int max_steps_;
  Rng rng_;
  Task task_;
  int elapsed_ = 0;
  bool done_ = false;
};

// Produces the supervision for imitation: an optimal (or scripted near-optimal) action for the
// current state of an environment of its family, and optionally the optimal action values.
class Expert {
 public:
  virtual ~Expert() = default;
  // `values`, if non-empty, receives the optimal value of every action (action_spec().n).
  virtual int act(const Env& env, std::span<float> values) const = 0;
  // Optimal expected discounted return from the current state, under the family's discount.
  // Computed independently of act(), so tests can check that demonstrations are optimal.
  virtual double optimal_value(const Env& env) const = 0;
};

// Casts an environment to the concrete type an expert or renderer expects; throws EnvError if
// it is an environment of another family.
template <class E>
const E& env_cast(const Env& env, const char* who) {
  const E* e = dynamic_cast<const E*>(&env);
  if (!e) throw_wrong_env(who);
  return *e;
}

// One recorded episode.
struct Episode {
  std::vector<float> observations;  // (steps + 1) x obs size: every observation incl. the last
  std::vector<int> actions;
  std::vector<float> values;        // steps x actions, when the expert gives action values
  std::vector<float> rewards;
  bool terminated = false, truncated = false;
  float total_return(double discount = 1.0) const;
  int steps() const { return static_cast<int>(actions.size()); }
};

// Runs the expert from reset(seed, task) to the end of the episode.
Episode run_expert(Env& env, const Expert& expert, uint64_t seed, const Task& task,
                   bool with_values = false);

}  // namespace hc::envs
