#include "envs/core/spec.h"

#include <fmt/format.h>

#include <cmath>

#include "base/error.h"

namespace hc::envs {

ObservationSpec ObservationSpec::grid(int rows, int cols, std::vector<std::string> channels) {
  ObservationSpec s;
  s.shape = {rows, cols, static_cast<int>(channels.size())};
  s.low.assign(s.size(), 0.0f);
  s.high.assign(s.size(), 1.0f);
  s.binary = true;
  s.names = std::move(channels);
  return s;
}

ObservationSpec ObservationSpec::vector(std::vector<std::string> names, std::vector<float> low,
                                        std::vector<float> high) {
  if (low.size() != names.size() || high.size() != names.size())
    throw Error(fmt::format("observation spec: {} names but {} low and {} high bounds",
                            names.size(), low.size(), high.size()));
  ObservationSpec s;
  s.shape = {static_cast<int>(names.size())};
  s.low = std::move(low);
  s.high = std::move(high);
  s.names = std::move(names);
  return s;
}

std::string ObservationSpec::violation(std::span<const float> obs) const {
  if (static_cast<int64_t>(obs.size()) != size())
    return fmt::format("{} values, expected {}", obs.size(), size());
  const size_t axis = names.empty() ? 0 : names.size();
  for (size_t i = 0; i < obs.size(); ++i) {
    const float x = obs[i];
    const bool bad = !(x >= low[i] && x <= high[i]) || (binary && x != 0.0f && x != 1.0f);
    if (!bad) continue;  // the negated comparison also catches NaN
    const std::string name = axis ? fmt::format(" ({})", names[i % axis]) : "";
    return fmt::format("element {}{} is {}, expected {}", i, name, x,
                       binary ? std::string("0 or 1")
                              : fmt::format("a value in [{}, {}]", low[i], high[i]));
  }
  return "";
}

bool ObservationSpec::contains(std::span<const float> obs) const {
  return violation(obs).empty();
}

ActionSpec ActionSpec::actions(std::vector<std::string> names) {
  ActionSpec s;
  s.discrete = true;
  s.n = static_cast<int>(names.size());
  s.names = std::move(names);
  return s;
}

ActionSpec ActionSpec::box(std::vector<std::string> names, std::vector<float> low,
                           std::vector<float> high) {
  if (names.empty() || names.size() > static_cast<size_t>(Action::kMaxDim) ||
      low.size() != names.size() || high.size() != names.size())
    throw Error(fmt::format("action box: {} components with {} low and {} high bounds (at most {})",
                            names.size(), low.size(), high.size(), Action::kMaxDim));
  for (size_t i = 0; i < names.size(); ++i)
    if (!(std::isfinite(low[i]) && std::isfinite(high[i]) && low[i] < high[i]))
      throw Error(fmt::format("action box: component {} has bounds [{}, {}]", names[i], low[i],
                              high[i]));
  ActionSpec s;
  s.discrete = false;
  s.n = static_cast<int>(names.size());
  s.names = std::move(names);
  s.low = std::move(low);
  s.high = std::move(high);
  return s;
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

bool Action::operator==(const Action& o) const {
  if (index != o.index || dim != o.dim) return false;
  for (int i = 0; i < dim; ++i)
    if (value[i] != o.value[i]) return false;
  return true;
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
    if (!(a.value[i] >= spec.low[i] && a.value[i] <= spec.high[i]))  // also rejects NaN
      throw EnvError(fmt::format("invalid action: component {} ({}) is {}, expected {}", i,
                                 spec.names[i], a.value[i],
                                 std::isfinite(a.value[i])
                                     ? fmt::format("a value in [{}, {}]", spec.low[i], spec.high[i])
                                     : std::string("a finite value")));
}

Action sample(const ActionSpec& spec, Rng& rng) {
  if (spec.discrete) return Action::discrete(static_cast<int>(rng.uniform_int(spec.n)));
  Action a;
  a.dim = spec.n;
  for (int i = 0; i < spec.n; ++i)
    a.value[i] = static_cast<float>(rng.uniform(spec.low[i], spec.high[i]));
  return a;
}

std::string to_string(const ActionSpec& spec, const Action& a) {
  if (spec.discrete && a.index >= 0 && a.index < spec.n) return spec.names[a.index];
  if (a.index >= 0) return std::to_string(a.index);
  std::string s = "(";
  for (int i = 0; i < a.dim; ++i) s += fmt::format("{}{:.3g}", i ? ", " : "", a.value[i]);
  return s + ")";
}

}  // namespace hc::envs
