#include "docs/examples/corridor.h"

#include <cmath>
#include <cstdlib>

namespace hc::envs::example {
namespace {

enum { kLeft, kRight, kPress, kWave };

TaskSpace make_space(const CorridorConfig& c) {
  std::vector<std::string> cells;
  for (int i = 0; i < c.length; ++i) cells.push_back(std::to_string(i));
  return TaskSpace::categorical({{"target", cells}, {"finish", {"press", "wave"}}});
}

ObservationSpec make_obs(const CorridorConfig& c) {
  ObservationSpec s;
  s.shape = {c.length};
  s.binary = true;
  return s;
}

ActionSpec make_act() {
  ActionSpec s;
  s.n = 4;
  s.names = {"left", "right", "press", "wave"};
  return s;
}

}  // namespace

CorridorEnv::CorridorEnv(const TaskSpace& space, const ObservationSpec& obs, const ActionSpec& act,
                         int length)
    : Env(space, obs, act, /*max_steps=*/4 * length), length_(length) {}

void CorridorEnv::on_reset(Rng& rng, const Task& task) {
  // Start anywhere but on the target.
  do agent_ = static_cast<int>(rng.uniform_int(length_));
  while (agent_ == task.values[0]);
}

StepResult CorridorEnv::on_step(const Action& a) {
  StepResult r;
  if (a.index == kLeft) agent_ = std::max(0, agent_ - 1);
  if (a.index == kRight) agent_ = std::min(length_ - 1, agent_ + 1);
  if (a.index - kPress == task().values[1] && agent_ == task().values[0]) {
    r.reward = 1.0f;
    r.terminated = true;
  }
  return r;
}

void CorridorEnv::observe(std::span<float> out) const {
  std::fill(out.begin(), out.end(), 0.0f);
  out[agent_] = 1.0f;
}

Scene CorridorEnv::scene() const {
  Scene s;
  s.width = static_cast<float>(length_);
  s.height = 1;
  s.rect(task().values[0], 0, task().values[0] + 1.0f, 1, {240, 190, 50}, 'T');
  s.circle(agent_ + 0.5f, 0.5f, 0.3f, {60, 60, 60}, '@');
  s.caption = task_space().describe(task());
  return s;
}

nlohmann::json CorridorEnv::describe() const {
  return {{"length", length_}, {"target", task().values[0]}, {"agent", agent_}};
}

int CorridorExpert::act(const Env& env, std::span<float>) const {
  const auto& e = env_cast<CorridorEnv>(env, "corridor expert");
  const int target = e.task().values[0];
  if (e.agent() < target) return kRight;
  if (e.agent() > target) return kLeft;
  return kPress + e.task().values[1];
}

double CorridorExpert::optimal_value(const Env& env) const {
  const auto& e = env_cast<CorridorEnv>(env, "corridor expert");
  return std::pow(0.9, std::abs(e.agent() - e.task().values[0]));
}

CorridorFamily::CorridorFamily(const Config& c)
    : EnvFamily(
          "compositional_corridor", make_space(c), make_split_spec(c.support, c.frac_ood), c.seed,
          /*continuous_weights=*/false, {c.support_demos, c.query_demos}, make_obs(c), make_act()),
      config_(c) {}

std::unique_ptr<Env> CorridorFamily::make_env() const {
  return std::make_unique<CorridorEnv>(task_space(), observation_spec(), action_spec(),
                                       config_.length);
}

std::unique_ptr<Expert> CorridorFamily::make_expert() const {
  return std::make_unique<CorridorExpert>();
}

}  // namespace hc::envs::example
