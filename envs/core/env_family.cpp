#include "envs/core/env_family.h"

#include <fmt/format.h>

#include <cmath>

#include "base/error.h"

namespace hc::envs {

const EnvFamily* as_env_family(const tasks::TaskFamily& family) {
  return dynamic_cast<const EnvFamily*>(&family);
}

const EnvFamily& require_env_family(const tasks::TaskFamily& family, std::string_view what) {
  if (const EnvFamily* e = as_env_family(family)) return *e;
  throw Error(fmt::format("{} needs a family with an environment; '{}' has none (its tasks are "
                          "supervised datasets)",
                          what, family.name()));
}

bool EnvFamily::success(const Episode& episode, double optimal_return) const {
  return episode.total_return(discount()) >=
         optimal_return - 1e-4 * std::max(1.0, std::abs(optimal_return));
}

EnvFamily::EnvFamily(std::string name, TaskSpace space, SplitSpec split, uint64_t seed,
                     bool continuous_weights, DemoConfig demos, ObservationSpec obs, ActionSpec act)
    : tasks::TaskFamily(std::move(name), std::move(space), split, seed, continuous_weights),
      demos_(demos),
      obs_spec_(std::move(obs)),
      act_spec_(std::move(act)) {}

void EnvFamily::append_demo(Env& env, const Expert& expert, uint64_t seed, const Task& task,
                            Dataset& out) const {
  const bool values = target_kind() == TargetKind::kValues;
  const Episode ep = run_expert(env, expert, seed, task, values);
  const int64_t n_obs = input_dim();
  const int demo = out.episodes++;
  for (int s = 0; s < ep.steps(); ++s) {
    out.inputs.insert(out.inputs.end(), ep.observations.begin() + s * n_obs,
                      ep.observations.begin() + (s + 1) * n_obs);
    out.labels.push_back(ep.actions[s]);
    if (values)
      out.targets.insert(out.targets.end(), ep.values.begin() + s * output_dim(),
                         ep.values.begin() + (s + 1) * output_dim());
    out.mask.push_back(1.0f);
    out.episode.push_back(demo);
    out.step.push_back(s);
    ++out.rows;
  }
}

TaskData EnvFamily::make_task_data(const Task& task, uint64_t seed) const {
  TaskData data;
  data.task = instance(task, seed);
  data.latent = task_space().latent(data.task);
  auto env = make_env();
  auto expert = make_expert();
  for (int d = 0; d < demos_.support_demos; ++d)
    append_demo(*env, *expert, derive_seed(seed, {1, static_cast<uint64_t>(d)}), data.task,
                data.support);
  for (int d = 0; d < demos_.query_demos; ++d)
    append_demo(*env, *expert, derive_seed(seed, {2, static_cast<uint64_t>(d)}), data.task,
                data.query);
  return data;
}

}  // namespace hc::envs
