// Conformance checks of an environment family: determinism, specs, invalid input and the
// expert. families/check.h runs them with the task checks over the whole registry.
#pragma once

#include "envs/core/env_family.h"
#include "tasks/check.h"

namespace hc::envs {

using tasks::CheckOptions;
using tasks::CheckReport;

// Same seed, same episode (bitwise); a different seed, a different episode.
void check_determinism(const EnvFamily& family, const CheckOptions& o, CheckReport& r);
// Every observation of random rollouts lies in the observation spec.
void check_observations(const EnvFamily& family, const CheckOptions& o, CheckReport& r);
// Invalid actions, stepping a finished or unstarted episode, out-of-range or malformed tasks
// raise EnvError and leave the environment unchanged.
void check_invalid_input(const EnvFamily& family, const CheckOptions& o, CheckReport& r);
// The expert's episode on every task is valid and optimal: its discounted return equals the
// optimal value the expert reports for the start state.
void check_expert(const EnvFamily& family, const CheckOptions& o, CheckReport& r);
// An environment that has played episodes replays a (task, seed) exactly like a fresh one: no
// state survives reset(). The failure names the first differing field of describe() or of the
// observation.
void check_reuse(const EnvFamily& family, const CheckOptions& o, CheckReport& r);
// Within one task, states with identical observations get the same expert action (the same
// action values, for experts that give them): otherwise the expert acts on something a policy
// cannot see, and no policy can imitate it. The failure shows both states (describe()) and the
// fields in which they differ.
void check_observation_sufficiency(const EnvFamily& family, const CheckOptions& o, CheckReport& r);

}  // namespace hc::envs
