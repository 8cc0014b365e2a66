#include "trainer/closed_loop.h"

#include <algorithm>
#include <cmath>

namespace hc::trainer {

torch::Tensor policy_outputs(agents::PolicyImpl& policy, const agents::Fast& fast,
                             bool binary_inputs, const torch::Tensor& obs) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x3 = obs.unsqueeze(1);  // one row per task
  agents::Inputs x;
  if (binary_inputs) {
    x = agents::Inputs::from_dense_binary(x3);
  } else {
    x.tasks = obs.size(0), x.rows = 1, x.dim = obs.size(1), x.dense = x3;
  }
  return policy.forward(fast, policy.encode(x)).select(1, 0);
}

envs::Action output_action(const envs::ActionSpec& spec, std::span<const float> out) {
  if (spec.discrete)
    return envs::Action::discrete(
        static_cast<int>(std::max_element(out.begin(), out.end()) - out.begin()));
  envs::Action a;
  a.dim = spec.n;
  for (int i = 0; i < spec.n; ++i)
    a.value[i] = std::isfinite(out[i]) ? std::clamp(out[i], spec.low[i], spec.high[i])
                                       : 0.5f * (spec.low[i] + spec.high[i]);
  return a;
}

envs::Actor policy_actor(agents::PolicyImpl& policy, const agents::Fast& fast, bool binary_inputs) {
  return [&policy, fast, binary_inputs](const envs::VectorEnv& venv, std::span<const int> ids,
                                        std::span<envs::Action> actions, std::span<float>) {
    const int64_t t = venv.size(), d = venv.observation_size();
    torch::Tensor obs = torch::zeros({t, d});
    for (int i : ids) {
      const auto row = venv.observation(i);
      std::copy(row.begin(), row.end(), obs.data_ptr<float>() + i * d);
    }
    const std::vector<envs::Action> all =
        output_actions(venv.action_spec(), policy_outputs(policy, fast, binary_inputs, obs));
    for (size_t k = 0; k < ids.size(); ++k) actions[k] = all[ids[k]];
  };
}

std::vector<envs::Action> output_actions(const envs::ActionSpec& spec, const torch::Tensor& out) {
  const torch::Tensor rows = out.contiguous();
  const int64_t n = rows.size(0), c = rows.size(1);
  std::vector<envs::Action> actions(n);
  if (spec.discrete) {
    const torch::Tensor best = rows.argmax(-1);
    for (int64_t i = 0; i < n; ++i)
      actions[i] = envs::Action::discrete(static_cast<int>(best[i].item<int64_t>()));
    return actions;
  }
  for (int64_t i = 0; i < n; ++i)
    actions[i] = output_action(
        spec, std::span<const float>(rows.data_ptr<float>() + i * c, static_cast<size_t>(c)));
  return actions;
}

void ClosedLoopStats::emit(const std::string& set, Metrics& m) const {
  if (episodes == 0) return;
  const double n = static_cast<double>(episodes);
  const std::string c = "closed_" + set;
  m.emplace_back(c + "/success", success / n);
  m.emplace_back(c + "/return", ret / n);
  m.emplace_back(c + "/expert_success", expert_success / n);
  m.emplace_back(c + "/expert_return", expert_ret / n);
}

void closed_loop(const envs::EnvFamily& family, agents::PolicyImpl& policy, const Batch& b,
                 const agents::Fast& fast, int64_t limit, ClosedLoopStats& stats) {
  const int64_t tasks = std::min(b.tasks, limit);
  if (tasks <= 0) return;
  const std::vector<envs::Task> instances(b.instances.begin(), b.instances.begin() + tasks);
  std::vector<uint64_t> seeds(tasks);
  for (int64_t t = 0; t < tasks; ++t) seeds[t] = envs::closed_loop_seed(b.seeds[t]);
  envs::VectorEnv venv(family, static_cast<int>(tasks));
  const auto expert = family.make_expert();
  const envs::RolloutOptions no_observations{.observations = false};
  for (const envs::Episode& ep :
       envs::rollout(venv, instances, seeds, envs::expert_actor(*expert), no_observations)) {
    stats.expert_ret += ep.total_return(family.discount());
    stats.expert_success += ep.success;
  }
  agents::Fast f;
  for (const auto& p : fast) f.push_back(p.slice(0, 0, tasks));
  for (const envs::Episode& ep :
       envs::rollout(venv, instances, seeds, policy_actor(policy, f, family.binary_inputs()),
                     no_observations)) {
    ++stats.episodes;
    stats.ret += ep.total_return(family.discount());
    stats.success += ep.success;
  }
}

}  // namespace hc::trainer
