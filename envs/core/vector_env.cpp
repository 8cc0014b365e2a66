#include "envs/core/vector_env.h"

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include "base/error.h"

namespace hc::envs {

VectorEnv::VectorEnv(const EnvFamily& family, int num_envs, uint64_t seed, int grain)
    : seed_(seed), grain_(std::max(1, grain)) {
  if (num_envs < 1) throw EnvError(fmt::format("VectorEnv: num_envs = {}, expected >= 1", num_envs));
  envs_.reserve(num_envs);
  for (int i = 0; i < num_envs; ++i) {
    envs_.push_back(family.make_env());
    if (!envs_.back())
      throw EnvError(fmt::format("family '{}' has no environment to step", family.name()));
  }
  obs_size_ = envs_[0]->observation_spec().size();
  tasks_.resize(num_envs);
  episodes_.assign(num_envs, 0);
  obs_.assign(static_cast<size_t>(num_envs) * obs_size_, 0.0f);
  rewards_.assign(num_envs, 0.0f);
  terminated_.assign(num_envs, 0);
  truncated_.assign(num_envs, 0);
}

uint64_t VectorEnv::episode_seed(int i) const {
  return derive_seed(seed_, {static_cast<uint64_t>(i), static_cast<uint64_t>(episodes_[i])});
}

template <class Fn>
static void for_chunks(int n, int grain, Fn&& fn) {
  if (n <= grain) {
    fn(0, n);
    return;
  }
  tbb::parallel_for(tbb::blocked_range<int>(0, n, grain),
                    [&](const tbb::blocked_range<int>& r) { fn(r.begin(), r.end()); },
                    tbb::simple_partitioner());
}

void VectorEnv::reset(std::span<const Task> tasks) {
  if (tasks.size() != envs_.size())
    throw EnvError(fmt::format("VectorEnv::reset: got {} tasks for {} environments", tasks.size(),
                               envs_.size()));
  for (size_t i = 0; i < tasks.size(); ++i) envs_[i]->task_space().validate(tasks[i]);
  for_chunks(size(), grain_, [&](int lo, int hi) {
    for (int i = lo; i < hi; ++i) {
      tasks_[i] = tasks[i];
      envs_[i]->reset(episode_seed(i), tasks_[i]);
      ++episodes_[i];
      envs_[i]->observe(std::span<float>(obs_).subspan(i * obs_size_, obs_size_));
      rewards_[i] = 0.0f;
      terminated_[i] = truncated_[i] = 0;
    }
  });
}

void VectorEnv::step_one(int i, const Action& a) {
  Env& env = *envs_[i];
  const StepResult r = env.step(a);
  rewards_[i] = r.reward;
  terminated_[i] = r.terminated;
  truncated_[i] = r.truncated;
  if (r.done()) {
    env.reset(episode_seed(i), tasks_[i]);
    ++episodes_[i];
  }
  env.observe(std::span<float>(obs_).subspan(i * obs_size_, obs_size_));
}

template <class A>
void VectorEnv::step_impl(std::span<const A> actions) {
  if (actions.size() != envs_.size())
    throw EnvError(fmt::format("VectorEnv::step: got {} actions for {} environments",
                               actions.size(), envs_.size()));
  if (!envs_[0]->started()) throw EnvError("VectorEnv::step called before reset()");
  // Validate everything first so that a bad action leaves no environment half-stepped.
  for (const A& a : actions) {
    if constexpr (std::is_same_v<A, int>) validate_action(envs_[0]->action_spec(), Action::discrete(a));
    else validate_action(envs_[0]->action_spec(), a);
  }
  for_chunks(size(), grain_, [&](int lo, int hi) {
    for (int i = lo; i < hi; ++i) {
      if constexpr (std::is_same_v<A, int>) step_one(i, Action::discrete(actions[i]));
      else step_one(i, actions[i]);
    }
  });
}

void VectorEnv::step(std::span<const int> actions) { step_impl(actions); }
void VectorEnv::step(std::span<const Action> actions) { step_impl(actions); }

}  // namespace hc::envs
