#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <cstring>

#include "base/error.h"
#include "envs/core/vector_env.h"
#include "families/registry.h"

namespace hc::envs {
namespace {

struct Trace {
  std::vector<float> obs, rewards;
  std::vector<uint8_t> terminated, truncated, success;
  bool operator==(const Trace&) const = default;
};

std::vector<std::string> env_family_names() {
  std::vector<std::string> names;
  for (const auto& name : families::family_names())
    if (as_env_family(*families::make_family(name))) names.push_back(name);
  return names;
}

std::shared_ptr<const EnvFamily> env_family(const std::string& name) {
  return std::dynamic_pointer_cast<const EnvFamily>(families::make_family(name));
}

std::vector<Task> some_tasks(const EnvFamily& family, int n) {
  std::vector<Task> tasks;
  const auto& ids = family.splits().train;
  for (int i = 0; i < n; ++i) tasks.push_back(family.task_space().task(ids[i % ids.size()]));
  return tasks;
}

std::vector<uint64_t> some_seeds(int n, uint64_t base) {
  std::vector<uint64_t> seeds;
  for (int i = 0; i < n; ++i) seeds.push_back(derive_seed(base, {static_cast<uint64_t>(i)}));
  return seeds;
}

// Steps B environments with seeded random actions and records everything they return.
Trace run(const EnvFamily& family, int batch, int grain, int steps) {
  VectorEnv vec(family, batch, grain);
  vec.reset(some_tasks(family, batch), some_seeds(batch, 99));
  Rng rng(5);
  std::vector<Action> actions(batch);
  Trace t;
  for (int s = 0; s < steps; ++s) {
    for (Action& a : actions) a = sample(family.action_spec(), rng);
    vec.step(actions);
    t.obs.insert(t.obs.end(), vec.observations().begin(), vec.observations().end());
    t.rewards.insert(t.rewards.end(), vec.rewards().begin(), vec.rewards().end());
    t.terminated.insert(t.terminated.end(), vec.terminated().begin(), vec.terminated().end());
    t.truncated.insert(t.truncated.end(), vec.truncated().begin(), vec.truncated().end());
    t.success.insert(t.success.end(), vec.success().begin(), vec.success().end());
  }
  return t;
}

class VectorEnvTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VectorEnvTest, ResultsDoNotDependOnThreadsOrChunking) {
  const auto family = env_family(GetParam());
  Trace reference;
  {
    tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
    reference = run(*family, 37, 1, 150);
  }
  for (int threads : {2, 4})
    for (int grain : {1, 5, 64}) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
      EXPECT_TRUE(run(*family, 37, grain, 150) == reference)
          << threads << " threads, grain " << grain;
    }
  // Episodes did end and auto-reset along the way.
  size_t ends = 0;
  for (size_t i = 0; i < reference.terminated.size(); ++i)
    ends += reference.terminated[i] || reference.truncated[i];
  EXPECT_GT(ends, 0u);
}

// Next-step autoreset: the ending step shows the final observation; the following step ignores
// its action and shows the next episode's first observation, with reward 0 and no end flags.
TEST_P(VectorEnvTest, MatchesSteppingEachEnvironmentAloneWithNextStepAutoreset) {
  const auto family = env_family(GetParam());
  const int batch = 5;
  VectorEnv vec(*family, batch);
  const std::vector<Task> tasks = some_tasks(*family, batch);
  const std::vector<uint64_t> seeds = some_seeds(batch, 3);
  vec.reset(tasks, seeds);
  std::vector<std::unique_ptr<Env>> solo;
  std::vector<int64_t> episodes(batch, 1);
  for (int i = 0; i < batch; ++i) {
    solo.push_back(family->make_env());
    solo[i]->reset(seeds[i], tasks[i]);
  }
  Rng rng(8);
  std::vector<Action> actions(batch);
  const int64_t n = vec.observation_size();
  int autoresets = 0;
  for (int s = 0; s < 300; ++s) {  // past the time limit: every family resets
    for (Action& a : actions) a = sample(family->action_spec(), rng);
    vec.step(actions);
    for (int i = 0; i < batch; ++i) {
      if (solo[i]->done()) {
        solo[i]->reset(derive_seed(seeds[i], {static_cast<uint64_t>(episodes[i]++)}), tasks[i]);
        EXPECT_EQ(vec.rewards()[i], 0.0f);
        EXPECT_FALSE(vec.terminated()[i] || vec.truncated()[i]);
        ++autoresets;
      } else {
        const StepResult r = solo[i]->step(actions[i]);
        EXPECT_EQ(vec.rewards()[i], r.reward);
        EXPECT_EQ(vec.terminated()[i], r.terminated);
        EXPECT_EQ(vec.truncated()[i], r.truncated);
        EXPECT_EQ(vec.success()[i], r.success);
      }
      const auto obs = solo[i]->observation();
      ASSERT_EQ(0, std::memcmp(obs.data(), vec.observations().data() + i * n, n * sizeof(float)))
          << "env " << i << " step " << s;
    }
  }
  EXPECT_GT(autoresets, 0);
}

// rollout plays exactly one episode per environment, the same one an environment alone plays,
// and records every observation including the final one.
TEST_P(VectorEnvTest, RolloutPlaysOneEpisodePerEnvironment) {
  const auto family = env_family(GetParam());
  const int batch = 6;
  VectorEnv vec(*family, batch);
  const std::vector<Task> tasks = some_tasks(*family, batch);
  const std::vector<uint64_t> seeds = some_seeds(batch, 17);
  const auto expert = family->make_expert();
  const auto episodes = rollout(vec, tasks, seeds, expert_actor(*expert), {.values = false});
  ASSERT_EQ(episodes.size(), static_cast<size_t>(batch));
  auto env = family->make_env();
  for (int i = 0; i < batch; ++i) {
    const Episode alone = run_expert(*env, *expert, seeds[i], tasks[i]);
    EXPECT_EQ(episodes[i].observations, alone.observations) << i;
    EXPECT_EQ(episodes[i].actions, alone.actions) << i;
    EXPECT_EQ(episodes[i].rewards, alone.rewards) << i;
    EXPECT_EQ(episodes[i].success, alone.success) << i;
    EXPECT_EQ(episodes[i].end, alone.end) << i;
    EXPECT_EQ(episodes[i].observations.size(),
              static_cast<size_t>(episodes[i].steps() + 1) * family->input_dim());
    EXPECT_EQ(vec.episodes_started(i), 1) << "a finished environment was reset";
  }
}

INSTANTIATE_TEST_SUITE_P(EnvFamilies, VectorEnvTest, ::testing::ValuesIn(env_family_names()),
                         [](const auto& info) { return info.param; });

TEST(VectorEnv, RejectsBadSizes) {
  const auto family = env_family("compositional_goals");
  EXPECT_THROW(VectorEnv(*family, 0), EnvError);
  VectorEnv vec(*family, 3);
  const std::vector<Action> actions(3, Action::discrete(0));
  EXPECT_THROW(vec.step(actions), EnvError);  // before reset
  EXPECT_THROW(vec.reset(some_tasks(*family, 2), some_seeds(2, 1)), EnvError);
  EXPECT_THROW(vec.reset(some_tasks(*family, 3), some_seeds(2, 1)), EnvError);
}

}  // namespace
}  // namespace hc::envs
