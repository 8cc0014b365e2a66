// The environment API (Gymnasium-like) and the expert that supervises imitation.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "base/rng.h"
#include "envs/core/scene.h"
#include "envs/core/spec.h"
#include "tasks/task_space.h"

namespace hc::envs {

// Environments play the tasks of a family's task space.
using tasks::Task;
using tasks::TaskSpace;

class EnvFamily;

[[noreturn]] void throw_wrong_env(const char* who);

// Why an episode ended.
enum class EndReason : uint8_t {
  kRunning,    // it has not ended
  kSolved,     // the task's goal was reached (terminated)
  kFailed,     // the task cannot be solved any more, e.g. a crash (terminated)
  kStopped,    // the agent ended the episode with an action (terminated)
  kTimeLimit,  // the time limit was hit (truncated)
};
std::string_view to_string(EndReason r);

struct StepResult {
  float reward = 0.0f;
  bool terminated = false;  // the task's own end (goal reached, failure, a stopping action)
  bool truncated = false;   // the time limit was hit
  bool success = false;     // the episode ended with its task solved (set on the last step)
  EndReason end = EndReason::kRunning;
  bool done() const { return terminated || truncated; }
};

// One episode at a time of one family. The base class does the bookkeeping every environment
// shares (action validation, step counting, time limit, end reason and success, stepping a
// finished episode); a family writes only on_reset, on_step, observe, and optionally scene,
// describe and judge_success.
//
// Episode boundaries: after a step that returns done(), observe() shows the final state and
// further steps throw until the next reset.
class Env {
 public:
  // The environment of one family: its task space and specs are the family's (shared, not
  // copied: an environment costs little to make, and every demonstration makes some).
  Env(const EnvFamily& family, int max_steps);
  virtual ~Env() = default;

  const ObservationSpec& observation_spec() const { return *obs_spec_; }
  const ActionSpec& action_spec() const { return *act_spec_; }
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

  // Drawing primitives of the current state. The default draws the observation: a grid of
  // channels as coloured cells, a vector as bars within its bounds.
  virtual Scene scene() const;
  // The current state for tools (`hypercomp demo --json`). Default: the observation.
  virtual nlohmann::json describe() const;

  const Task& task() const { return task_; }
  const TaskSpace& task_space() const { return space_; }
  int elapsed() const { return elapsed_; }  // steps taken in this episode
  bool done() const { return end_ != EndReason::kRunning; }
  EndReason end_reason() const { return end_; }
  bool success() const { return success_; }  // the finished episode solved its task
  bool started() const { return task_.id >= 0; }

 protected:
  virtual void on_reset(Rng& rng, const Task& task) = 0;
  // Called with a validated action on a running episode. Sets reward and, when the task itself
  // ends the episode, terminated with its end reason; the base class adds the time limit.
  virtual StepResult on_step(const Action& a) = 0;
  // Whether the episode that just ended (`last`: its final step) solved the task. Default: it
  // ended by reaching the goal.
  virtual bool judge_success(const StepResult& last) const { return last.end == EndReason::kSolved; }

 private:
  const TaskSpace& space_;
  const ObservationSpec* obs_spec_;
  const ActionSpec* act_spec_;
  int max_steps_;
  Rng rng_;
  Task task_;
  int elapsed_ = 0;
  EndReason end_ = EndReason::kRunning;
  bool success_ = false;
};

// Produces the supervision for imitation: the action an optimal (or scripted near-optimal)
// agent takes in the current state of an environment of its family.
class Expert {
 public:
  virtual ~Expert() = default;
  // `values`, if non-empty, receives the optimal value of every discrete action
  // (action_spec().n); only experts of families with exact action values write it.
  virtual Action act(const Env& env, std::span<float> values) const = 0;
  // Optimal expected discounted return from the current state under the family's discount,
  // computed independently of act() so that tests can check that demonstrations are optimal;
  // nullopt for scripted experts, whose success rate is checked instead.
  virtual std::optional<double> optimal_value(const Env& env) const { return std::nullopt; }
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
  std::vector<float> observations;  // (steps + 1) x obs size, incl. the final one (if recorded)
  std::vector<Action> actions;
  std::vector<float> values;        // steps x actions, when the actor gives action values
  std::vector<float> rewards;
  bool terminated = false, truncated = false, success = false;
  EndReason end = EndReason::kRunning;
  float total_return(double discount = 1.0) const;
  int steps() const { return static_cast<int>(actions.size()); }
};

// Runs the expert alone from reset(seed, task) to the end of the episode (batches of episodes
// go through envs::rollout).
Episode run_expert(Env& env, const Expert& expert, uint64_t seed, const Task& task,
                   bool with_values = false);

}  // namespace hc::envs
