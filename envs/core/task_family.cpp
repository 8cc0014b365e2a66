#include "envs/core/task_family.h"

#include <fmt/format.h>

#include <cmath>

#include "envs/core/error.h"

namespace hc::envs {

std::string_view to_string(TargetKind k) {
  switch (k) {
    case TargetKind::kLabels:
      return "labels";
    case TargetKind::kSoft:
      return "soft";
    case TargetKind::kValues:
      return "values";
  }
  return "?";
}

TaskFamily::TaskFamily(std::string name, TaskSpace space, SplitSpec split, uint64_t seed,
                       bool continuous_weights)
    : name_(std::move(name)),
      space_(std::move(space)),
      split_(split),
      seed_(seed),
      continuous_(continuous_weights) {
  splits_ = space_.split(split_, seed_);
}

bool TaskFamily::success(const Episode& episode, double optimal_return) const {
  return episode.total_return(discount()) >=
         optimal_return - 1e-4 * std::max(1.0, std::abs(optimal_return));
}

YAML::Node TaskFamily::config() const {
  YAML::Node section(YAML::NodeType::Map);
  section["name"] = name_;
  for (const auto& kv : config_fields()) section[kv.first] = kv.second;
  return section;
}

Task TaskFamily::instance(const Task& task, uint64_t seed) const {
  space_.validate(task);
  Task t = task;
  if (continuous_) {
    // The weights belong to the task instance: support and query share them.
    Rng rng(derive_seed(seed, {0x3e16}));
    space_.draw_weights(t, rng);
  }
  return t;
}

EnvFamily::EnvFamily(std::string name, TaskSpace space, SplitSpec split, uint64_t seed,
                     bool continuous_weights, DemoConfig demos, ObservationSpec obs, ActionSpec act)
    : TaskFamily(std::move(name), std::move(space), split, seed, continuous_weights),
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
