#include "trainer/playback.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "families/registry.h"
#include "trainer/batch.h"
#include "trainer/closed_loop.h"

namespace hc::trainer {
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

ShowSource::ShowSource(const std::string& what, const std::string& config, bool best) {
  label_ = what;
  const std::vector<std::string> names = families::family_names();
  if (!config.empty() || std::find(names.begin(), names.end(), what) != names.end()) {
    family_ = families::make_family(what, config);
  } else {
    if (!std::filesystem::exists(what))
      throw Error(fmt::format("'{}' is neither a registered family ({}) nor a run directory", what,
                              fmt::join(names, ", ")));
    run_ = std::make_unique<LoadedRun>(load_run(what, best));
    family_ = run_->config.family;
  }
  env_family_ = &envs::require_env_family(*family_, "watching or recording");
}

std::string ShowSource::family_config() const { return to_yaml(family_->config()); }

Show ShowSource::make(const Options& o) const {
  const envs::EnvFamily& f = *env_family_;
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
  show.label = label_;
  show.policy = run_ ? std::string(name_of(run_->config.policy.name)) : "expert";
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

  // Plays one episode from `seed`; `policy_fast` set: the adapted policy predicts in every state
  // (and acts unless the expert is asked to).
  const auto play = [&](const std::string& title, uint64_t seed, const agents::Fast* policy_fast,
                        bool policy_acts) {
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
      if (policy_fast) {
        const std::vector<float> obs = env->observation();
        const torch::Tensor x =
            torch::from_blob(const_cast<float*>(obs.data()), {1, static_cast<int64_t>(obs.size())})
                .clone();
        const torch::Tensor out =
            policy_outputs(*run_->policy, *policy_fast, f.binary_inputs(), x).contiguous();
        std::vector<float> row(out.data_ptr<float>(), out.data_ptr<float>() + out.size(1));
        const envs::Action predicted = output_action(spec, row);
        frame.predicted = !spec.discrete ? row : values ? row : softmax(row);
        frame.predicted_kind = !spec.discrete ? "action" : values ? "value" : "probability";
        if (policy_acts) action = predicted;
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
         derive_seed(data_seed, {1, static_cast<uint64_t>(d)}), nullptr, false);
  const uint64_t episode = closed_loop_seed(data_seed);
  if (!run_) {
    play("expert on a fresh episode", episode, nullptr, false);
    return show;
  }
  // Adapt on exactly the support set shown above (the same task and data seed).
  const std::vector<int64_t> ids = {id};
  const std::vector<uint64_t> seeds = {data_seed};
  const Batch batch = make_batches(f, ids, seeds, 1)[0];
  const Adapted adapted = run_->learner->adapt(batch);
  if (o.expert_acts)
    play("expert acting (the adapted policy's predictions beside)", episode, &adapted.fast, false);
  else
    play("adapted policy acting", episode, &adapted.fast, true);
  return show;
}

}  // namespace hc::trainer
