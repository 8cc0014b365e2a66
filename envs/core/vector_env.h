// B environments of one family stepped together into one preallocated observation buffer,
// in parallel over chunks with TBB. Every environment draws only from its own seeded RNG, so
// the results do not depend on the number of threads or on how the batch is chunked.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "envs/core/env_family.h"

namespace hc::envs {

class VectorEnv {
 public:
  // `grain`: environments per parallel chunk; batches no larger than one chunk run serially.
  VectorEnv(const EnvFamily& family, int num_envs, uint64_t seed, int grain = 64);

  int size() const { return static_cast<int>(envs_.size()); }
  int64_t observation_size() const { return obs_size_; }

  // Starts an episode of tasks[i] in environment i and writes every first observation.
  void reset(std::span<const Task> tasks);
  // Steps environment i with actions[i]. An environment whose episode ends is reset at once to a
  // new episode of the same task (auto-reset): its row then holds the new episode's first
  // observation, while reward/terminated/truncated describe the step that ended the old one.
  void step(std::span<const int> actions);
  void step(std::span<const Action> actions);

  // num_envs x observation_size, row-major; valid until the next reset/step.
  std::span<const float> observations() const { return obs_; }
  std::span<const float> rewards() const { return rewards_; }
  std::span<const uint8_t> terminated() const { return terminated_; }
  std::span<const uint8_t> truncated() const { return truncated_; }
  const Env& env(int i) const { return *envs_[i]; }
  int64_t episodes_started(int i) const { return episodes_[i]; }

 private:
  template <class A>
  void step_impl(std::span<const A> actions);
  void step_one(int i, const Action& a);
  uint64_t episode_seed(int i) const;

  std::vector<std::unique_ptr<Env>> envs_;
  std::vector<Task> tasks_;
  std::vector<int64_t> episodes_;
  uint64_t seed_;
  int grain_;
  int64_t obs_size_;
  std::vector<float> obs_, rewards_;
  std::vector<uint8_t> terminated_, truncated_;
};

}  // namespace hc::envs
