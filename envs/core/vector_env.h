// B environments of one family stepped together into one preallocated observation buffer, in
// parallel over chunks with TBB. Every environment draws only from its own seeded RNG, so the
// results do not depend on the number of threads or on how the batch is chunked.
//
// Episode boundaries follow Gymnasium 1.x and EnvPool (next-step autoreset): the step that ends
// an episode returns its final observation with terminated/truncated set; the next step() of
// that environment ignores its action, starts the next episode (of the same task, unless a task
// schedule says otherwise) and returns its first observation with reward 0 and no end flags.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "envs/core/env_family.h"

namespace hc::envs {

class VectorEnv {
 public:
  // `grain`: environments per parallel chunk; batches no larger than one chunk run serially.
  VectorEnv(const EnvFamily& family, int num_envs, int grain = 64);

  int size() const { return static_cast<int>(envs_.size()); }
  int64_t observation_size() const { return obs_size_; }
  const ActionSpec& action_spec() const { return envs_[0]->action_spec(); }

  // Starts an episode of tasks[i] in environment i from seeds[i] and writes every first
  // observation. Later episodes of environment i (autoreset) use derive_seed(seeds[i], {k}) for
  // the k-th episode after the first.
  void reset(std::span<const Task> tasks, std::span<const uint64_t> seeds);
  // Chooses the task of every episode after the first: schedule(i, k) is the task of the k-th
  // episode (k >= 1) of environment i, whose seed is derive_seed(seeds[i], {k}). Called from
  // parallel workers, so it must be safe to call concurrently. Without one, an environment
  // plays its task again.
  using TaskSchedule = std::function<Task(int env, int64_t episode)>;
  void set_task_schedule(TaskSchedule schedule) { schedule_ = std::move(schedule); }
  // Steps environment i with actions[i] (next-step autoreset, above). When `active` is given,
  // environments with active[i] == 0 are left exactly as they are and their actions ignored.
  void step(std::span<const Action> actions, std::span<const uint8_t> active = {});

  // num_envs x observation_size, row-major; valid until the next reset/step.
  std::span<const float> observations() const { return obs_; }
  std::span<const float> observation(int i) const {
    return std::span<const float>(obs_).subspan(i * obs_size_, obs_size_);
  }
  std::span<const float> rewards() const { return rewards_; }
  std::span<const uint8_t> terminated() const { return terminated_; }
  std::span<const uint8_t> truncated() const { return truncated_; }
  std::span<const uint8_t> success() const { return success_; }
  std::span<const EndReason> ends() const { return ends_; }  // why each episode ended
  const Env& env(int i) const { return *envs_[i]; }
  int64_t episodes_started(int i) const { return episodes_[i]; }

 private:
  void step_one(int i, const Action& a);

  std::vector<std::unique_ptr<Env>> envs_;
  std::vector<Task> tasks_;
  TaskSchedule schedule_;
  std::vector<uint64_t> seeds_;
  std::vector<int64_t> episodes_;
  int grain_;
  int64_t obs_size_;
  std::vector<float> obs_, rewards_;
  std::vector<uint8_t> terminated_, truncated_, success_;
  std::vector<EndReason> ends_;
};

// Chooses the actions of the running environments `ids` of `venv` from their current state:
// writes actions[k] for environment ids[k] and, when `values` is non-empty, that environment's
// action values in row k (action_spec().n per row).
using Actor = std::function<void(const VectorEnv& venv, std::span<const int> ids,
                                 std::span<Action> actions, std::span<float> values)>;

// The expert of a family as an actor.
Actor expert_actor(const Expert& expert);

struct RolloutOptions {
  bool observations = true;  // record every observation, the final one included
  bool values = false;       // ask the actor for action values and record them
};

// The one path by which episodes are played, for demonstrations and for closed-loop evaluation:
// environment i plays one episode of tasks[i] from seeds[i], every running environment stepped
// together with the actions `act` chooses, until all have ended. Episode i is environment i's.
std::vector<Episode> rollout(VectorEnv& venv, std::span<const Task> tasks,
                             std::span<const uint64_t> seeds, const Actor& act,
                             const RolloutOptions& options = {});

}  // namespace hc::envs
