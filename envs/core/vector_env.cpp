#include "envs/core/vector_env.h"

#include <fmt/format.h>
#include <tbb/blocked_range.h>
#include <tbb/partitioner.h>

#include "base/error.h"
#include "base/parallel.h"

namespace hc::envs {
namespace {

template <class Fn>
void for_chunks(int n, int grain, Fn&& fn) {
  if (n <= grain) {
    fn(0, n);
    return;
  }
  parallel_for_range(
      tbb::blocked_range<int>(0, n, grain),
      [&](const tbb::blocked_range<int>& r) { fn(r.begin(), r.end()); }, tbb::simple_partitioner());
}

}  // namespace

VectorEnv::VectorEnv(const EnvFamily& family, int num_envs, int grain)
    : grain_(std::max(1, grain)) {
  if (num_envs < 1)
    throw EnvError(fmt::format("VectorEnv: num_envs = {}, expected >= 1", num_envs));
  envs_.reserve(num_envs);
  for (int i = 0; i < num_envs; ++i) envs_.push_back(family.make_env());
  obs_size_ = envs_[0]->observation_spec().size();
  tasks_.resize(num_envs);
  seeds_.assign(num_envs, 0);
  episodes_.assign(num_envs, 0);
  obs_.assign(static_cast<size_t>(num_envs) * obs_size_, 0.0f);
  rewards_.assign(num_envs, 0.0f);
  terminated_.assign(num_envs, 0);
  truncated_.assign(num_envs, 0);
  success_.assign(num_envs, 0);
  ends_.assign(num_envs, EndReason::kRunning);
}

void VectorEnv::reset(std::span<const Task> tasks, std::span<const uint64_t> seeds) {
  if (tasks.size() != envs_.size() || seeds.size() != envs_.size())
    throw EnvError(fmt::format("VectorEnv::reset: got {} tasks and {} seeds for {} environments",
                               tasks.size(), seeds.size(), envs_.size()));
  for (const Task& t : tasks) envs_[0]->task_space().validate(t);
  for_chunks(size(), grain_, [&](int lo, int hi) {
    for (int i = lo; i < hi; ++i) {
      tasks_[i] = tasks[i];
      seeds_[i] = seeds[i];
      episodes_[i] = 1;
      envs_[i]->reset(seeds_[i], tasks_[i]);
      envs_[i]->observe(std::span<float>(obs_).subspan(i * obs_size_, obs_size_));
      rewards_[i] = 0.0f;
      terminated_[i] = truncated_[i] = success_[i] = 0;
      ends_[i] = EndReason::kRunning;
    }
  });
}

void VectorEnv::step_one(int i, const Action& a) {
  Env& env = *envs_[i];
  if (terminated_[i] || truncated_[i]) {  // the previous step ended the episode: start the next
    if (schedule_) tasks_[i] = schedule_(i, episodes_[i]);
    env.reset(derive_seed(seeds_[i], {static_cast<uint64_t>(episodes_[i])}), tasks_[i]);
    ++episodes_[i];
    rewards_[i] = 0.0f;
    terminated_[i] = truncated_[i] = success_[i] = 0;
    ends_[i] = EndReason::kRunning;
  } else {
    const StepResult r = env.step(a);
    rewards_[i] = r.reward;
    terminated_[i] = r.terminated;
    truncated_[i] = r.truncated;
    success_[i] = r.success;
    ends_[i] = r.end;
  }
  env.observe(std::span<float>(obs_).subspan(i * obs_size_, obs_size_));
}

void VectorEnv::step(std::span<const Action> actions, std::span<const uint8_t> active) {
  if (actions.size() != envs_.size() || (!active.empty() && active.size() != envs_.size()))
    throw EnvError(fmt::format(
        "VectorEnv::step: got {} actions{} for {} environments", actions.size(),
        active.empty() ? "" : fmt::format(" and {} flags", active.size()), envs_.size()));
  if (!envs_[0]->started()) throw EnvError("VectorEnv::step called before reset()");
  // Validate everything first so that a bad action leaves no environment half-stepped. The
  // flags live here, not in the environments, so this pass touches no environment's memory.
  const ActionSpec& spec = envs_[0]->action_spec();
  for (size_t i = 0; i < actions.size(); ++i)
    if ((active.empty() || active[i]) && !(terminated_[i] || truncated_[i]))
      validate_action(spec, actions[i]);
  for_chunks(size(), grain_, [&](int lo, int hi) {
    for (int i = lo; i < hi; ++i)
      if (active.empty() || active[i]) step_one(i, actions[i]);
  });
}

Actor expert_actor(const Expert& expert) {
  return [&expert](const VectorEnv& venv, std::span<const int> ids, std::span<Action> actions,
                   std::span<float> values) {
    const size_t n = values.empty() ? 0 : values.size() / ids.size();
    for (size_t k = 0; k < ids.size(); ++k)
      actions[k] = expert.act(venv.env(ids[k]), values.empty() ? values : values.subspan(k * n, n));
  };
}

std::vector<Episode> rollout(VectorEnv& venv, std::span<const Task> tasks,
                             std::span<const uint64_t> seeds, const Actor& act,
                             const RolloutOptions& o) {
  venv.reset(tasks, seeds);
  const int n = venv.size();
  const int n_values = o.values ? venv.action_spec().n : 0;
  std::vector<Episode> episodes(n);
  const auto record_observation = [&](int i) {
    if (!o.observations) return;
    const auto obs = venv.observation(i);
    episodes[i].observations.insert(episodes[i].observations.end(), obs.begin(), obs.end());
  };
  std::vector<int> ids;
  for (int i = 0; i < n; ++i) {
    record_observation(i);
    if (!venv.env(i).done()) ids.push_back(i);
  }
  std::vector<Action> chosen(n), actions(n);
  std::vector<uint8_t> active(n, 0);
  std::vector<float> values(static_cast<size_t>(n) * n_values);
  std::vector<int> still;
  still.reserve(n);
  while (!ids.empty()) {
    const std::span<Action> now(chosen.data(), ids.size());
    const std::span<float> now_values(values.data(), ids.size() * n_values);
    std::fill(now_values.begin(), now_values.end(), 0.0f);
    act(venv, ids, now, now_values);
    std::fill(active.begin(), active.end(), 0);
    for (size_t k = 0; k < ids.size(); ++k) {
      actions[ids[k]] = chosen[k];
      active[ids[k]] = 1;
    }
    venv.step(actions, active);
    still.clear();
    for (size_t k = 0; k < ids.size(); ++k) {
      const int i = ids[k];
      Episode& ep = episodes[i];
      ep.actions.push_back(chosen[k]);
      ep.rewards.push_back(venv.rewards()[i]);
      if (n_values)
        ep.values.insert(ep.values.end(), values.begin() + k * n_values,
                         values.begin() + (k + 1) * n_values);
      record_observation(i);
      ep.terminated = venv.terminated()[i];
      ep.truncated = venv.truncated()[i];
      ep.success = venv.success()[i];
      ep.end = venv.env(i).end_reason();
      if (!ep.terminated && !ep.truncated) still.push_back(i);
    }
    ids.swap(still);
  }
  return episodes;
}

}  // namespace hc::envs
