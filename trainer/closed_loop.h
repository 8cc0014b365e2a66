// Closed-loop evaluation: adapted policies act in their environments, beside the expert on the
// same episodes. Episodes are played by envs::rollout, the same path as demonstrations.
#pragma once

#include <cstdint>

#include "agents/policy.h"
#include "envs/core/vector_env.h"
#include "trainer/batch.h"
#include "trainer/open_loop.h"

namespace hc::trainer {

// The adapted policy's outputs for one observation per task: obs [T, D] -> [T, output_dim].
// `binary_inputs`: the observations are one-hot and take the sparse input path.
torch::Tensor policy_outputs(agents::PolicyImpl& policy, const agents::Fast& fast,
                             bool binary_inputs, const torch::Tensor& obs);

// The action an output row asks for: discrete, the first largest output; a box, the output
// vector clamped to the bounds (a non-finite component becomes the middle of its range).
envs::Action output_action(const envs::ActionSpec& spec, std::span<const float> output);

// The actions of output rows [N, C]: discrete, torch's argmax (as the open-loop accuracy
// uses); a box, output_action of each row.
std::vector<envs::Action> output_actions(const envs::ActionSpec& spec, const torch::Tensor& out);

// An actor playing, in environment t, the adapted policy of task t (fast row t). Every step
// evaluates all tasks, with zero observations for finished episodes, so that the arithmetic of
// one task never depends on which other episodes are still running.
envs::Actor policy_actor(agents::PolicyImpl& policy, const agents::Fast& fast, bool binary_inputs);

struct ClosedLoopStats {
  int64_t episodes = 0, success = 0, expert_success = 0;
  double ret = 0, expert_ret = 0;
  // closed_<set>/success, /return, /expert_success, /expert_return (if any episode was played).
  void emit(const std::string& set, Metrics& m) const;
};

// Plays a fresh episode of each of the first `limit` tasks of `b` with the policy adapted to it
// (`fast`), and the same episodes with the expert; adds successes and returns to `stats`.
void closed_loop(const envs::EnvFamily& family, agents::PolicyImpl& policy, const Batch& b,
                 const agents::Fast& fast, int64_t limit, ClosedLoopStats& stats);

}  // namespace hc::trainer
