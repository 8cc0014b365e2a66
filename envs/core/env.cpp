#include "envs/core/env.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "envs/core/env_family.h"

namespace hc::envs {

void throw_wrong_env(const char* who) {
  throw EnvError(fmt::format("{} was given an environment of another family", who));
}

std::string_view to_string(EndReason r) {
  switch (r) {
    case EndReason::kRunning: return "running";
    case EndReason::kSolved: return "solved";
    case EndReason::kFailed: return "failed";
    case EndReason::kStopped: return "stopped";
    case EndReason::kTimeLimit: return "time limit";
  }
  return "?";
}

Env::Env(const EnvFamily& family, int max_steps)
    : space_(family.task_space()),
      obs_spec_(&family.observation_spec()),
      act_spec_(&family.action_spec()),
      max_steps_(max_steps) {}

void Env::reset(uint64_t seed, const Task& task) {
  space_.validate(task);
  task_ = task;
  rng_.seed(seed);
  elapsed_ = 0;
  end_ = EndReason::kRunning;
  success_ = false;
  on_reset(rng_, task_);
}

StepResult Env::step(const Action& a) {
  if (!started()) throw EnvError("step() called before reset()");
  if (done())
    throw EnvError(fmt::format("step() called on a finished episode (after {} steps): call reset()",
                               elapsed_));
  validate_action(*act_spec_, a);
  StepResult r = on_step(a);
  ++elapsed_;
  if (r.terminated) {
    if (r.end == EndReason::kRunning) r.end = EndReason::kFailed;
  } else {
    r.end = EndReason::kRunning;
    if (elapsed_ >= max_steps_) {
      r.truncated = true;
      r.end = EndReason::kTimeLimit;
    }
  }
  end_ = r.end;
  if (r.done()) r.success = success_ = judge_success(r);
  return r;
}

std::vector<float> Env::observation() const {
  std::vector<float> out(obs_spec_->size());
  observe(out);
  return out;
}

Scene Env::scene() const {
  const std::vector<float> obs = observation();
  const auto& shape = obs_spec_->shape;
  Scene s;
  if (shape.size() == 3) {
    // A grid of channels: each cell in the colour of its highest set channel.
    const int rows = shape[0], cols = shape[1], channels = shape[2];
    s = Scene::grid(cols, rows);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c)
        for (int k = channels; k-- > 0;)
          if (obs[(static_cast<size_t>(r) * cols + c) * channels + k] != 0.0f) {
            s.marker(k, c + 0.5f, r + 0.5f, 0.4f, palette_color(k),
                     static_cast<char>(k < 10 ? '0' + k : 'a' + k - 10));
            break;
          }
  } else {
    // A vector: one bar per component, its length the value's place within the bounds
    // (squashed by tanh where a bound is infinite).
    const int n = static_cast<int>(obs.size());
    s = Scene::grid(2, n);
    for (int i = 0; i < n; ++i) {
      const float lo = obs_spec_->low[i], hi = obs_spec_->high[i];
      const float f = std::isfinite(lo) && std::isfinite(hi) && hi > lo
                          ? (obs[i] - lo) / (hi - lo)
                          : 0.5f + 0.5f * std::tanh(obs[i]);
      s.rect(0, i + 0.15f, 2 * std::clamp(f, 0.0f, 1.0f), i + 0.85f, palette_color(i), '=');
    }
  }
  s.caption = fmt::format("{} | step {}", space_.describe(task_), elapsed_);
  return s;
}

nlohmann::json Env::describe() const { return {{"observation", observation()}}; }

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
  env.reset(seed, task);
  std::vector<float> values(with_values ? env.action_spec().n : 0);
  while (true) {
    const size_t at = ep.observations.size();
    ep.observations.resize(at + n_obs);
    env.observe(std::span<float>(ep.observations).subspan(at, n_obs));
    if (env.done()) break;
    const Action a = expert.act(env, values);
    if (with_values) ep.values.insert(ep.values.end(), values.begin(), values.end());
    const StepResult r = env.step(a);
    ep.actions.push_back(a);
    ep.rewards.push_back(r.reward);
    ep.terminated = r.terminated;
    ep.truncated = r.truncated;
    ep.success = r.success;
    ep.end = r.end;
  }
  return ep;
}

}  // namespace hc::envs
