#include "envs/core/spec.h"

#include <fmt/format.h>

#include <cmath>

#include "base/error.h"

namespace hc::envs {

bool ObservationSpec::contains(std::span<const float> obs) const {
  if (static_cast<int64_t>(obs.size()) != size()) return false;
  for (float x : obs) {
    if (!(x >= low && x <= high)) return false;  // also rejects NaN
    if (binary && x != 0.0f && x != 1.0f) return false;
  }
  return true;
}

Action Action::continuous(std::span<const float> v) {
  if (v.size() > static_cast<size_t>(kMaxDim))
    throw EnvError(fmt::format("continuous action has {} components; at most {} are supported",
                               v.size(), kMaxDim));
  Action a;
  a.dim = static_cast<int>(v.size());
  for (size_t i = 0; i < v.size(); ++i) a.value[i] = v[i];
  return a;
}

void validate_action(const ActionSpec& spec, const Action& a) {
  if (spec.discrete) {
    if (a.index < 0 || a.index >= spec.n)
      throw EnvError(fmt::format("invalid action {}: expected a discrete action in [0, {})",
                                 a.index < 0 && a.dim > 0 ? std::string("(continuous vector)")
                                                          : std::to_string(a.index),
                                 spec.n));
    return;
  }
  if (a.index >= 0 || a.dim != spec.n)
    throw EnvError(fmt::format("invalid action: expected a continuous vector of {} values, got {}",
                               spec.n, a.index >= 0 ? "a discrete index"
                                                    : std::to_string(a.dim) + " values"));
  for (int i = 0; i < a.dim; ++i)
    if (!(a.value[i] >= spec.low && a.value[i] <= spec.high))
      throw EnvError(fmt::format("invalid action: component {} is {}, expected a value in [{}, {}]",
                                 i, a.value[i], spec.low, spec.high));
}

}  // namespace hc::envs
