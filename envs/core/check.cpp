#include "envs/core/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "envs/core/vector_env.h"

namespace hc::envs {
namespace {

using tasks::sample_tasks;
using tasks::where;

template <class Fn>
bool throws_env_error(Fn&& fn) {
  try {
    fn();
  } catch (const EnvError&) {
    return true;
  } catch (...) {
    return false;
  }
  return false;
}

}  // namespace

void check_determinism(const EnvFamily& f, const CheckOptions& o, CheckReport& r) {
  auto a = f.make_env(), b = f.make_env();
  auto expert = f.make_expert();
  const int64_t n = a->observation_spec().size();
  std::vector<float> oa(n), ob(n);
  int diverged = 0, pairs = 0;
  for (int64_t id : sample_tasks(f, o)) {
    const Task& task = f.task_space().task(id);
    for (int s = 0; s < o.seeds; ++s) {
      const uint64_t seed =
          derive_seed(o.seed, {static_cast<uint64_t>(id), static_cast<uint64_t>(s)});
      a->reset(seed, task);
      b->reset(seed, task);
      Rng actions(seed);
      bool same = true;
      for (int t = 0; t <= a->max_steps() && same; ++t) {
        a->observe(oa);
        b->observe(ob);
        same = std::memcmp(oa.data(), ob.data(), n * sizeof(float)) == 0;
        if (!same || a->done()) break;
        const Action act = sample(a->action_spec(), actions);
        const StepResult ra = a->step(act), rb = b->step(act);
        same = std::memcmp(&ra.reward, &rb.reward, sizeof(float)) == 0 &&
               ra.terminated == rb.terminated && ra.truncated == rb.truncated &&
               ra.success == rb.success && ra.end == rb.end;
      }
      r.expect(same, "same seed gave different episodes: " + where(f, id, seed));
      // Another seed must give another episode (start state or expert demonstration).
      const Episode e1 = run_expert(*a, *expert, seed, task);
      const Episode e2 = run_expert(*b, *expert, seed + 1, task);
      ++pairs;
      diverged += e1.observations != e2.observations || e1.actions != e2.actions;
    }
  }
  r.expect(pairs == 0 || diverged > 0,
           fmt::format("{}: different seeds gave identical episodes for all {} task/seed pairs",
                       f.name(), pairs));
}

void check_observations(const EnvFamily& f, const CheckOptions& o, CheckReport& r) {
  auto env = f.make_env();
  const ObservationSpec& spec = env->observation_spec();
  const ActionSpec& act = env->action_spec();
  r.expect(spec.size() == f.input_dim(),
           fmt::format("{}: observation size {} != family input_dim {}", f.name(), spec.size(),
                       f.input_dim()));
  r.expect(
      static_cast<int64_t>(spec.low.size()) == spec.size() &&
          static_cast<int64_t>(spec.high.size()) == spec.size(),
      fmt::format("{}: observation bounds do not match its {} elements", f.name(), spec.size()));
  r.expect(act.n == f.output_dim(), fmt::format("{}: action size {} != family output_dim {}",
                                                f.name(), act.n, f.output_dim()));
  r.expect(act.discrete || (act.low.size() == static_cast<size_t>(act.n) &&
                            act.high.size() == static_cast<size_t>(act.n)),
           fmt::format("{}: action box bounds do not match its {} components", f.name(), act.n));
  std::vector<float> obs(spec.size());
  for (int64_t id : sample_tasks(f, o)) {
    for (int s = 0; s < o.seeds; ++s) {
      const uint64_t seed =
          derive_seed(o.seed, {static_cast<uint64_t>(id), 99, static_cast<uint64_t>(s)});
      env->reset(seed, f.task_space().task(id));
      Rng actions(seed);
      for (int t = 0;; ++t) {
        env->observe(obs);
        const std::string why = spec.violation(obs);
        r.expect(why.empty(), fmt::format("observation outside its spec at step {} ({}): {}", t,
                                          why, where(f, id, seed)));
        if (env->done()) break;
        env->step(sample(act, actions));
      }
      r.expect(env->elapsed() <= env->max_steps(),
               "episode ran past the time limit: " + where(f, id, seed));
      r.expect(env->end_reason() == EndReason::kTimeLimit ? env->elapsed() == env->max_steps()
                                                          : env->done(),
               "end reason does not match how the episode ended: " + where(f, id, seed));
    }
  }
}

void check_invalid_input(const EnvFamily& f, const CheckOptions& o, CheckReport& r) {
  const TaskSpace& space = f.task_space();
  auto env = f.make_env();
  auto expert = f.make_expert();
  const ActionSpec& act = env->action_spec();
  Rng rng(o.seed);
  r.expect(throws_env_error([&] { env->step(sample(act, rng)); }),
           f.name() + ": step() before reset() accepted");
  r.expect(throws_env_error([&] { space.task(-1); }), f.name() + ": task index -1 accepted");
  r.expect(throws_env_error([&] { space.task(space.size()); }),
           fmt::format("{}: task index {} (= size) accepted", f.name(), space.size()));
  // Actions of the wrong kind or dimension, out of range, NaN or infinite.
  std::vector<Action> bad;
  if (act.discrete) {
    bad = {Action::discrete(-1), Action::discrete(act.n), Action::discrete(act.n + 100)};
    const float v[1] = {0.5f};
    bad.push_back(Action::continuous(v));
  } else {
    bad = {Action::discrete(0)};
    if (act.n < Action::kMaxDim) bad.push_back(Action::continuous(std::vector<float>(act.n + 1)));
    if (act.n > 1) bad.push_back(Action::continuous(std::vector<float>(act.n - 1)));
    const Action ok = sample(act, rng);
    for (int i = 0; i < act.n; ++i)
      for (float x :
           {act.high[i] + 0.5f * (act.high[i] - act.low[i]),
            act.low[i] - 0.5f * (act.high[i] - act.low[i]), std::nanf(""), INFINITY, -INFINITY}) {
        Action a = ok;
        a.value[i] = x;
        bad.push_back(a);
      }
  }
  for (int64_t id : sample_tasks(f, o)) {
    const Task& task = space.task(id);
    const uint64_t seed = derive_seed(o.seed, {static_cast<uint64_t>(id), 7});
    env->reset(seed, task);
    const std::vector<float> before = env->observation();
    for (const Action& a : bad)
      r.expect(
          throws_env_error([&] { env->step(a); }),
          fmt::format("invalid action {} accepted: {}", to_string(act, a), where(f, id, seed)));
    r.expect(env->observation() == before && env->elapsed() == 0,
             "a rejected action changed the environment: " + where(f, id, seed));
    // A task whose values are not those of its id is rejected.
    Task forged = task;
    forged.values[0] = forged.values[0] == 0 ? 1 : 0;
    if (!space.categorical()) forged.values[0] = task.values[0] ^ 1;
    r.expect(throws_env_error([&] { env->reset(seed, forged); }),
             "a task with mismatched values was accepted: " + where(f, id, seed));
    Task out_of_range = task;
    out_of_range.id = space.size() + 5;
    r.expect(throws_env_error([&] { env->reset(seed, out_of_range); }),
             "a task with an out-of-range id was accepted: " + where(f, id, seed));
    // Stepping a finished episode.
    run_expert(*env, *expert, seed, task);
    r.expect(throws_env_error([&] { env->step(sample(act, rng)); }),
             "step() on a finished episode accepted: " + where(f, id, seed));
  }
  VectorEnv vec(f, 2);
  const std::vector<Task> two(2, space.task(f.splits().train[0]));
  const std::vector<uint64_t> seeds = {o.seed, o.seed + 1};
  vec.reset(two, seeds);
  const std::vector<Action> one = {sample(act, rng)};
  r.expect(throws_env_error([&] { vec.step(one); }),
           f.name() + ": VectorEnv accepted 1 action for 2 environments");
  const std::vector<Action> with_bad = {sample(act, rng), bad.back()};
  const std::vector<float> before(vec.observations().begin(), vec.observations().end());
  r.expect(throws_env_error([&] { vec.step(with_bad); }),
           f.name() + ": VectorEnv accepted an invalid action");
  r.expect(std::equal(before.begin(), before.end(), vec.observations().begin()) &&
               vec.env(0).elapsed() == 0,
           f.name() + ": a VectorEnv step with one invalid action stepped the other environment");
}

void check_expert(const EnvFamily& f, const CheckOptions& o, CheckReport& r) {
  const TaskSpace& space = f.task_space();
  auto env = f.make_env();
  auto expert = f.make_expert();
  std::vector<int64_t> ids;
  if (space.size() <= o.max_tasks) {
    for (int64_t id = 0; id < space.size(); ++id) ids.push_back(id);
  } else {
    ids = sample_tasks(f, o);
  }
  int64_t episodes = 0, solved = 0;
  for (int64_t id : ids) {
    for (int s = 0; s < o.seeds; ++s) {
      const uint64_t seed =
          derive_seed(o.seed, {static_cast<uint64_t>(id), 3, static_cast<uint64_t>(s)});
      const Task task = f.instance(space.task(id), seed);
      env->reset(seed, task);
      const std::optional<double> best = expert->optimal_value(*env);
      const Episode ep = run_expert(*env, *expert, seed, task);
      ++episodes;
      solved += ep.success;
      r.expect(ep.terminated || ep.truncated, "expert episode did not end: " + where(f, id, seed));
      if (!best) continue;
      // Experts with exact values are optimal on every episode, and succeed on every one.
      const double got = ep.total_return(f.discount());
      r.expect(std::abs(got - *best) <= 1e-5 * std::max(1.0, std::abs(*best)),
               fmt::format("expert return {:.6f} != optimal value {:.6f}: {}", got, *best,
                           where(f, id, seed)));
      r.expect(ep.success,
               "an optimal expert episode did not report success: " + where(f, id, seed));
    }
  }
  const double rate = episodes ? static_cast<double>(solved) / static_cast<double>(episodes) : 1.0;
  r.expect(rate >= f.expert_success_threshold(),
           fmt::format("{}: the expert solved {} of {} episodes ({:.2f}%), below the family's "
                       "threshold {:.2f}%",
                       f.name(), solved, episodes, 100 * rate, 100 * f.expert_success_threshold()));
}

}  // namespace hc::envs

namespace hc::envs {
namespace {

// Every leaf of a describe() state by its path ("agent.row", "objects[2].type"), as JSON text.
void leaves(const nlohmann::json& j, const std::string& path,
            std::vector<std::pair<std::string, std::string>>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) leaves(v, path.empty() ? k : path + "." + k, out);
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) leaves(j[i], fmt::format("{}[{}]", path, i), out);
  } else {
    out.emplace_back(path.empty() ? "state" : path, j.dump());
  }
}

// The fields in which two states differ, "path: a vs b", in the order of `a`'s fields.
std::vector<std::string> differing_fields(const nlohmann::json& a, const nlohmann::json& b) {
  std::vector<std::pair<std::string, std::string>> la, lb;
  leaves(a, "", la);
  leaves(b, "", lb);
  std::vector<std::string> out;
  for (const auto& [path, va] : la) {
    const auto it =
        std::find_if(lb.begin(), lb.end(), [&](const auto& p) { return p.first == path; });
    const std::string vb = it == lb.end() ? "(absent)" : it->second;
    if (va != vb) out.push_back(fmt::format("{}: {} vs {}", path, va, vb));
  }
  for (const auto& [path, vb] : lb)
    if (std::none_of(la.begin(), la.end(), [&](const auto& p) { return p.first == path; }))
      out.push_back(fmt::format("{}: (absent) vs {}", path, vb));
  return out;
}

// "observation element 17 ('agent' at [1, 6])": the element's index along every axis but the
// last, whose entries are named.
std::string element_name(const ObservationSpec& spec, int64_t k) {
  if (spec.shape.empty()) return fmt::format("observation element {}", k);
  const int64_t last = spec.shape.back();
  const int64_t c = k % last;
  std::vector<int64_t> index;
  int64_t rest = k / last;
  for (int i = static_cast<int>(spec.shape.size()) - 2; i >= 0; --i) {
    index.insert(index.begin(), rest % spec.shape[i]);
    rest /= spec.shape[i];
  }
  const std::string name =
      static_cast<int64_t>(spec.names.size()) == last ? spec.names[c] : std::to_string(c);
  return index.empty() ? fmt::format("observation element {} ('{}')", k, name)
                       : fmt::format("observation element {} ('{}' at [{}])", k, name,
                                     fmt::join(index, ", "));
}

// Expert actions, randomised with probability `explore` so that episodes visit states the
// expert alone never reaches (a key picked up and a cell passed again).
Action explore_action(const Env& env, const Expert& expert, double explore, Rng& rng) {
  if (explore > 0 && rng.uniform() < explore) return sample(env.action_spec(), rng);
  return expert.act(env, {});
}

std::string fields_text(const std::vector<std::string>& fields, size_t most = 6) {
  std::string s;
  for (size_t i = 0; i < fields.size() && i < most; ++i) s += (i ? "; " : "") + fields[i];
  if (fields.size() > most) s += fmt::format("; and {} more", fields.size() - most);
  return s;
}

}  // namespace

void check_reuse(const EnvFamily& f, const CheckOptions& o, CheckReport& r) {
  const TaskSpace& space = f.task_space();
  auto used = f.make_env();
  auto expert = f.make_expert();
  const int64_t n = used->observation_spec().size();
  std::vector<float> of(n), ou(n);
  const std::vector<int64_t> ids = sample_tasks(f, o);
  // `used` first plays an episode of another task; then every replay follows the episodes
  // before it, so each task is replayed after whatever the previous ones left behind.
  {
    const uint64_t seed = derive_seed(o.seed, {21});
    const Task warm = f.instance(space.task(ids.back()), seed);
    used->reset(seed, warm);
    Rng rng(seed);
    while (!used->done()) used->step(explore_action(*used, *expert, 0.3, rng));
  }
  for (int64_t id : ids) {
    for (int s = 0; s < o.seeds; ++s) {
      const uint64_t seed =
          derive_seed(o.seed, {static_cast<uint64_t>(id), 11, static_cast<uint64_t>(s)});
      const Task task = f.instance(space.task(id), seed);
      auto fresh = f.make_env();
      fresh->reset(seed, task);
      used->reset(seed, task);
      Rng rng(derive_seed(seed, {1}));
      for (int t = 0;; ++t) {
        fresh->observe(of);
        used->observe(ou);
        std::string what;
        const auto fields = differing_fields(fresh->describe(), used->describe());
        if (!fields.empty()) {
          what = fields_text(fields, 3) + " (fresh vs used)";
        } else if (std::memcmp(of.data(), ou.data(), n * sizeof(float)) != 0) {
          const int64_t k = std::mismatch(of.begin(), of.end(), ou.begin()).first - of.begin();
          what = fmt::format("{}: {} vs {} (fresh vs used)",
                             element_name(fresh->observation_spec(), k), of[k], ou[k]);
        }
        if (!what.empty()) {
          r.expect(false, fmt::format("state kept across reset: an environment that has played "
                                      "episodes differs from a fresh one at step {} in {}: {}",
                                      t, what, where(f, id, seed)));
          return;  // one cause, one line: every later episode would repeat it
        }
        if (fresh->done() || used->done()) {
          r.expect(fresh->done() && used->done() && fresh->end_reason() == used->end_reason(),
                   fmt::format("state kept across reset: an environment that has played episodes "
                               "ended at step {} as '{}', a fresh one as '{}': {}",
                               t, to_string(used->end_reason()), to_string(fresh->end_reason()),
                               where(f, id, seed)));
          break;
        }
        const Action a = explore_action(*fresh, *expert, 0.3, rng);
        const StepResult rf = fresh->step(a), ru = used->step(a);
        if (std::memcmp(&rf.reward, &ru.reward, sizeof(float)) != 0) {
          r.expect(false, fmt::format("state kept across reset: after step {} the reward is {} "
                                      "for a fresh environment and {} for one that has played "
                                      "episodes: {}",
                                      t, rf.reward, ru.reward, where(f, id, seed)));
          return;
        }
      }
      r.expect(true, "");
    }
  }
}

void check_observation_sufficiency(const EnvFamily& f, const CheckOptions& o, CheckReport& r) {
  const TaskSpace& space = f.task_space();
  auto env = f.make_env();
  auto expert = f.make_expert();
  const ActionSpec& act = env->action_spec();
  const int64_t n = env->observation_spec().size();
  std::vector<float> obs(n), values(act.discrete ? act.n : 0);
  struct Seen {
    Action action;
    std::vector<float> values;  // empty if the expert gives none
    nlohmann::json state;
    uint64_t seed;
    int step;
  };
  // Episodes per task: the expert's own, and ones with random detours that come back through
  // cells already passed in another phase of the task.
  const int episodes = 4 * o.seeds;
  for (int64_t id : sample_tasks(f, o)) {
    // Keyed by the instance too: families with continuous weights draw another task per seed.
    std::map<std::string, Seen> seen;
    for (int e = 0; e < episodes; ++e) {
      const uint64_t seed =
          derive_seed(o.seed, {static_cast<uint64_t>(id), 13, static_cast<uint64_t>(e)});
      const Task task = f.instance(space.task(id), seed);
      std::string key(reinterpret_cast<const char*>(task.weights.data()),
                      task.weights.size() * sizeof(float));
      env->reset(seed, task);
      Rng rng(derive_seed(seed, {2}));
      const double explore = e % 2 ? 0.4 : 0.0;
      for (int t = 0; !env->done(); ++t) {
        env->observe(obs);
        std::fill(values.begin(), values.end(), std::nanf(""));
        const Action a = expert->act(*env, values);
        const bool has_values = !values.empty() && !std::isnan(values[0]);
        const std::string k =
            key + std::string(reinterpret_cast<const char*>(obs.data()), n * sizeof(float));
        const auto it = seen.find(k);
        if (it == seen.end()) {
          seen.emplace(
              k, Seen{a, has_values ? values : std::vector<float>{}, env->describe(), seed, t});
        } else {
          const Seen& s = it->second;
          bool same;
          if (has_values && !s.values.empty()) {
            same = true;
            for (size_t i = 0; i < values.size(); ++i)
              same &=
                  std::abs(values[i] - s.values[i]) <= 1e-5 * std::max(1.0f, std::abs(s.values[i]));
          } else if (act.discrete) {
            same = a.index == s.action.index;
          } else {
            same = true;  // a box: components within a millionth of their range
            for (int i = 0; i < act.n; ++i)
              same &= std::abs(a.value[i] - s.action.value[i]) <= 1e-6 * (act.high[i] - act.low[i]);
          }
          if (!same) {
            const nlohmann::json state = env->describe();
            const auto fields = differing_fields(s.state, state);
            r.expect(
                false,
                fmt::format(
                    "the observation does not show what the expert acts on: in task {} two states "
                    "with the same observation get the expert actions {} (seed {} step {}) and {} "
                    "(seed {} step {}); {}; the states: {} and {}",
                    space.describe(task), to_string(act, s.action), s.seed, s.step,
                    to_string(act, a), seed, t,
                    fields.empty()
                        ? "describe() shows no difference either: the expert reads state that "
                          "neither shows (elapsed steps, the seed, a hidden counter)"
                        : "the expert uses what the observation lacks: " + fields_text(fields),
                    s.state.dump(), state.dump()));
            return;  // one cause, one line
          }
        }
        // Every state is compared with those seen before it (none equal: nothing to compare;
        // observations of continuous states rarely repeat exactly, so there the check says little).
        r.expect(true, "");
        env->step(explore > 0 && rng.uniform() < explore ? sample(act, rng) : a);
      }
    }
  }
}

}  // namespace hc::envs
