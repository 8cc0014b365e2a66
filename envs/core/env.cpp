#include "envs/core/env.h"

#include <fmt/format.h>

#include <cmath>

#include "base/error.h"

namespace hc::envs {

void throw_wrong_env(const char* who) {
  throw EnvError(fmt::format("{} was given an environment of another family", who));
}

Env::Env(const TaskSpace& space, ObservationSpec obs, ActionSpec act, int max_steps)
    : space_(space), obs_spec_(std::move(obs)), act_spec_(std::move(act)), max_steps_(max_steps) {}

void Env::reset(uint64_t seed, const Task& task) {
  space_.validate(task);
  task_ = task;
  rng_.seed(seed);
  elapsed_ = 0;
  done_ = false;
  on_reset(rng_, task_);
}

StepResult Env::step(const Action& a) {
  if (!started()) throw EnvError("step() called before reset()");
  if (done_)
    throw EnvError(fmt::format("step() called on a finished episode (after {} steps): call reset()",
                               elapsed_));
  validate_action(act_spec_, a);
  StepResult r = on_step(a);
  ++elapsed_;
  if (!r.terminated && elapsed_ >= max_steps_) r.truncated = true;
  done_ = r.done();
  return r;
}

std::vector<float> Env::observation() const {
  std::vector<float> out(obs_spec_.size());
  observe(out);
  return out;
}

float Episode::total_return(double discount) const {
  double g = 0.0, w = 1.0;
  for (float r : rewards) {
    g += w * r;
    w *= discount;
  }
  return static_cast<float>(g);
}

Episode run_expert(Env& env, const Expert& expert, uint64_t seed, const Task& task,
                   bool with_values) {
  Episode ep;
  const int64_t n_obs = env.observation_spec().size();
  const int n_act = env.action_spec().n;
  env.reset(seed, task);
  std::vector<float> values(with_values ? n_act : 0);
  while (true) {
    const size_t at = ep.observations.size();
    ep.observations.resize(at + n_obs);
    env.observe(std::span<float>(ep.observations).subspan(at, n_obs));
    if (env.done()) break;
    const int a = expert.act(env, values);
    if (with_values) ep.values.insert(ep.values.end(), values.begin(), values.end());
    const StepResult r = env.step(a);
    ep.actions.push_back(a);
    ep.rewards.push_back(r.reward);
    ep.terminated = r.terminated;
    ep.truncated = r.truncated;
  }
  return ep;
}

}  // namespace hc::envs
