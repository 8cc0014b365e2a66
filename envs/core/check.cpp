#include "envs/core/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

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
      const uint64_t seed = derive_seed(o.seed, {static_cast<uint64_t>(id), static_cast<uint64_t>(s)});
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
  r.expect(static_cast<int64_t>(spec.low.size()) == spec.size() &&
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
      const uint64_t seed = derive_seed(o.seed, {static_cast<uint64_t>(id), 99, static_cast<uint64_t>(s)});
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
      for (float x : {act.high[i] + 0.5f * (act.high[i] - act.low[i]),
                      act.low[i] - 0.5f * (act.high[i] - act.low[i]), std::nanf(""), INFINITY,
                      -INFINITY}) {
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
      r.expect(throws_env_error([&] { env->step(a); }),
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
      const uint64_t seed = derive_seed(o.seed, {static_cast<uint64_t>(id), 3, static_cast<uint64_t>(s)});
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
      r.expect(ep.success, "an optimal expert episode did not report success: " + where(f, id, seed));
    }
  }
  const double rate = episodes ? static_cast<double>(solved) / static_cast<double>(episodes) : 1.0;
  r.expect(rate >= f.expert_success_threshold(),
           fmt::format("{}: the expert solved {} of {} episodes ({:.2f}%), below the family's "
                       "threshold {:.2f}%",
                       f.name(), solved, episodes, 100 * rate, 100 * f.expert_success_threshold()));
}

}  // namespace hc::envs
