#include "render/playback.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/error.h"

namespace hc::render {
namespace {

constexpr uint64_t kTaskPick = 0xde70;

// Softmax of a row of outputs, as the policy's action probabilities.
std::vector<float> softmax(const std::vector<float>& z) {
  std::vector<float> p(z.size());
  const float top = *std::max_element(z.begin(), z.end());
  double sum = 0;
  for (size_t i = 0; i < z.size(); ++i) sum += p[i] = std::exp(z[i] - top);
  for (float& x : p) x = static_cast<float>(x / sum);
  return p;
}

}  // namespace

int Show::frames() const {
  int n = 0;
  for (const auto& p : phases) n += static_cast<int>(p.steps.size());
  return n;
}

Show make_show(const envs::EnvFamily& f, const std::string& label, const ShowOptions& o,
               const PlaybackPolicy* policy) {
  const tasks::TaskSpace& space = f.task_space();
  const tasks::Splits& splits = f.splits();
  int64_t id;
  if (!o.task.empty()) {
    id = space.find(o.task);
  } else {
    std::vector<int64_t> from = o.held_out ? splits.ood : splits.train;
    if (o.held_out)
      for (const auto& [h, ids] : splits.ood_by_hotness)
        from.insert(from.end(), ids.begin(), ids.end());
    if (from.empty())
      throw Error(fmt::format("'{}' has no {} tasks to show", f.name(),
                              o.held_out ? "held-out" : "training"));
    Rng rng(derive_seed(o.seed, {kTaskPick}));
    id = from[rng.uniform_int(from.size())];
  }
  const uint64_t data_seed = o.seed;
  const tasks::Task task = f.instance(space.task(id), data_seed);

  Show show;
  show.label = label;
  show.policy = policy ? policy->name() : "expert";
  show.family = f.name();
  show.task = space.describe(task);
  show.held_out = std::find(splits.train.begin(), splits.train.end(), id) == splits.train.end();
  show.names = f.action_spec().names;
  show.discrete = f.action_spec().discrete;
  auto env = f.make_env();
  const auto expert = f.make_expert();
  const envs::ActionSpec& spec = f.action_spec();
  env->reset(data_seed, task);
  show.fps = env->scene().fps;
  const bool values = f.target_kind() == tasks::TargetKind::kValues;

  // Plays one episode from `seed`; with `adapted`, the adapted policy predicts in every state
  // (and acts unless the expert is asked to).
  const auto play = [&](const std::string& title, uint64_t seed,
                        const PlaybackPolicy::Adapted* adapted, bool policy_acts) {
    ShowPhase phase{title, {}};
    env->reset(seed, task);
    double ret = 0, weight = 1;
    std::vector<float> q(values ? spec.n : 0);
    ShowStep frame;
    while (true) {
      frame.scene = env->scene();
      frame.step = env->elapsed();
      frame.ret = ret;
      frame.done = env->done();
      frame.success = env->success();
      frame.end = env->done() ? std::string(envs::to_string(env->end_reason())) : "";
      if (env->done()) {
        phase.steps.push_back(frame);
        break;
      }
      const envs::Action expert_action = expert->act(*env, q);
      envs::Action action = expert_action;
      frame.expert_choice = expert_action.index;
      if (spec.discrete && values) frame.expert = q;
      if (!spec.discrete)
        frame.expert.assign(expert_action.vector().begin(), expert_action.vector().end());
      if (spec.discrete && !values) {
        frame.expert.assign(spec.n, 0.0f);
        frame.expert[expert_action.index] = 1.0f;
      }
      if (adapted) {
        const PlaybackPolicy::Prediction p = (*adapted)(env->observation());
        frame.predicted = !spec.discrete ? p.outputs : values ? p.outputs : softmax(p.outputs);
        frame.predicted_kind = !spec.discrete ? "action" : values ? "value" : "probability";
        if (policy_acts) action = p.action;
      }
      frame.chosen = action.index;
      frame.action = envs::to_string(spec, action);
      phase.steps.push_back(frame);
      const envs::StepResult r = env->step(action);
      ret += weight * r.reward;
      weight *= f.discount();
      frame = ShowStep{};
      frame.reward = r.reward;
    }
    show.phases.push_back(std::move(phase));
  };

  const int n = f.demos().support_demos;
  for (int d = 0; d < n; ++d)
    play(fmt::format("support demonstration {} of {}", d + 1, n),
         envs::support_demo_seed(data_seed, d), nullptr, false);
  const uint64_t episode = envs::closed_loop_seed(data_seed);
  if (!policy) {
    play("expert on a fresh episode", episode, nullptr, false);
    return show;
  }
  // Adapted on exactly the support set shown above (the same task and data seed).
  const PlaybackPolicy::Adapted adapted = policy->adapt(f, id, data_seed);
  if (o.expert_acts)
    play("expert acting (the adapted policy's predictions beside)", episode, &adapted, false);
  else
    play("adapted policy acting", episode, &adapted, true);
  return show;
}

}  // namespace hc::render
