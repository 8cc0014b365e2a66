#include "envs/core/env_family.h"

#include <fmt/format.h>

#include "base/error.h"
#include "envs/core/vector_env.h"

namespace hc::envs {

uint64_t support_demo_seed(uint64_t data_seed, int d) {
  return derive_seed(data_seed, {1, static_cast<uint64_t>(d)});
}
uint64_t query_demo_seed(uint64_t data_seed, int d) {
  return derive_seed(data_seed, {2, static_cast<uint64_t>(d)});
}
uint64_t closed_loop_seed(uint64_t data_seed) { return derive_seed(data_seed, {0xc105ed}); }

const EnvFamily* as_env_family(const tasks::TaskFamily& family) {
  return dynamic_cast<const EnvFamily*>(&family);
}

const EnvFamily& require_env_family(const tasks::TaskFamily& family, std::string_view what) {
  if (const EnvFamily* e = as_env_family(family)) return *e;
  throw Error(
      fmt::format("{} needs a family with an environment; '{}' has none (its tasks are "
                  "supervised datasets)",
                  what, family.name()));
}

EnvFamily::EnvFamily(std::string name, TaskSpace space, SplitSpec split, uint64_t seed,
                     bool continuous_weights, DemoConfig demos, ObservationSpec obs, ActionSpec act)
    : tasks::TaskFamily(std::move(name), std::move(space), split, seed, continuous_weights),
      demos_(demos),
      obs_spec_(std::move(obs)),
      act_spec_(std::move(act)) {}

TaskData EnvFamily::make_task_data(const Task& task, uint64_t seed) const {
  TaskData data;
  data.task = instance(task, seed);
  data.latent = task_space().latent(data.task);
  const int support = demos_.support_demos, n = support + demos_.query_demos;
  // Serial inside: the data pipeline already runs tasks in parallel.
  VectorEnv venv(*this, n, /*grain=*/n);
  const std::vector<Task> tasks(n, data.task);
  std::vector<uint64_t> seeds(n);
  for (int d = 0; d < n; ++d)
    seeds[d] = d < support ? support_demo_seed(seed, d) : query_demo_seed(seed, d - support);
  const auto expert = make_expert();
  const TargetKind kind = target_kind();
  const std::vector<Episode> episodes =
      rollout(venv, tasks, seeds, expert_actor(*expert), {.values = kind == TargetKind::kValues});

  const int64_t n_obs = input_dim(), n_out = output_dim();
  int64_t rows[2] = {0, 0};
  for (int d = 0; d < n; ++d) rows[d < support ? 0 : 1] += episodes[d].steps();
  data.support.inputs.reserve(rows[0] * n_obs);
  data.query.inputs.reserve(rows[1] * n_obs);
  for (int d = 0; d < n; ++d) {
    const Episode& ep = episodes[d];
    Dataset& out = d < support ? data.support : data.query;
    const int demo = out.episodes++;
    for (int s = 0; s < ep.steps(); ++s) {
      out.inputs.insert(out.inputs.end(), ep.observations.begin() + s * n_obs,
                        ep.observations.begin() + (s + 1) * n_obs);
      const Action& a = ep.actions[s];
      if (kind == TargetKind::kActions)
        out.targets.insert(out.targets.end(), a.value.begin(), a.value.begin() + a.dim);
      else
        out.labels.push_back(a.index);
      if (kind == TargetKind::kValues)
        out.targets.insert(out.targets.end(), ep.values.begin() + s * n_out,
                           ep.values.begin() + (s + 1) * n_out);
      out.mask.push_back(1.0f);
      out.episode.push_back(demo);
      out.step.push_back(s);
      ++out.rows;
    }
  }
  return data;
}

void EnvFamily::replay_query(const TaskData& data, uint64_t seed,
                             const std::function<void(Env& env, int64_t row)>& visit) const {
  const Dataset& q = data.query;
  const int64_t n_out = output_dim();
  const auto env = make_env();
  int64_t row = 0;
  for (int d = 0; d < q.episodes; ++d) {
    env->reset(query_demo_seed(seed, d), data.task);
    for (; row < q.rows && q.episode[row] == d; ++row) {
      visit(*env, row);
      env->step(target_kind() == TargetKind::kActions
                    ? Action::continuous(std::span(q.targets).subspan(row * n_out, n_out))
                    : Action::discrete(q.labels[row]));
    }
  }
}

}  // namespace hc::envs
