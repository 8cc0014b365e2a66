#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <cstring>

#include "base/error.h"
#include "families/registry.h"
#include "envs/core/vector_env.h"

namespace hc::envs {
using namespace hc::tasks;
using namespace hc::families;

namespace {

struct Trace {
  std::vector<float> obs, rewards;
  std::vector<uint8_t> terminated, truncated;
  bool operator==(const Trace&) const = default;
};

// Steps B environments with seeded random actions and records everything they return.
Trace run(const EnvFamily& family, int batch, int grain, int steps) {
  VectorEnv vec(family, batch, /*seed=*/99, grain);
  std::vector<Task> tasks;
  const auto& ids = family.splits().train;
  for (int i = 0; i < batch; ++i) tasks.push_back(family.task_space().task(ids[i % ids.size()]));
  vec.reset(tasks);
  Rng rng(5);
  std::vector<int> actions(batch);
  Trace t;
  for (int s = 0; s < steps; ++s) {
    for (int& a : actions) a = static_cast<int>(rng.uniform_int(family.output_dim()));
    vec.step(actions);
    t.obs.insert(t.obs.end(), vec.observations().begin(), vec.observations().end());
    t.rewards.insert(t.rewards.end(), vec.rewards().begin(), vec.rewards().end());
    t.terminated.insert(t.terminated.end(), vec.terminated().begin(), vec.terminated().end());
    t.truncated.insert(t.truncated.end(), vec.truncated().begin(), vec.truncated().end());
  }
  return t;
}

class VectorEnvTest : public ::testing::TestWithParam<std::string> {};

TEST_P(VectorEnvTest, ResultsDoNotDependOnThreadsOrChunking) {
  const auto family = std::dynamic_pointer_cast<const EnvFamily>(make_family(GetParam()));
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

TEST_P(VectorEnvTest, MatchesSteppingEachEnvironmentAlone) {
  const auto family = std::dynamic_pointer_cast<const EnvFamily>(make_family(GetParam()));
  const int batch = 5;
  VectorEnv vec(*family, batch, 3);
  std::vector<Task> tasks;
  for (int i = 0; i < batch; ++i) tasks.push_back(family->task_space().task(family->splits().train[i]));
  vec.reset(tasks);
  std::vector<std::unique_ptr<Env>> solo;
  std::vector<int64_t> episodes(batch, 0);
  for (int i = 0; i < batch; ++i) {
    solo.push_back(family->make_env());
    solo[i]->reset(derive_seed(3, {static_cast<uint64_t>(i), 0}), tasks[i]);
    episodes[i] = 1;
  }
  Rng rng(8);
  std::vector<int> actions(batch);
  const int64_t n = vec.observation_size();
  for (int s = 0; s < 60; ++s) {
    for (int& a : actions) a = static_cast<int>(rng.uniform_int(family->output_dim()));
    vec.step(actions);
    for (int i = 0; i < batch; ++i) {
      const StepResult r = solo[i]->step(actions[i]);
      EXPECT_EQ(vec.rewards()[i], r.reward);
      EXPECT_EQ(vec.terminated()[i], r.terminated);
      if (r.done())  // auto-reset: the row shows the next episode's first observation
        solo[i]->reset(derive_seed(3, {static_cast<uint64_t>(i), static_cast<uint64_t>(episodes[i]++)}),
                       tasks[i]);
      const auto obs = solo[i]->observation();
      ASSERT_EQ(0, std::memcmp(obs.data(), vec.observations().data() + i * n, n * sizeof(float)))
          << "env " << i << " step " << s;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(EnvFamilies, VectorEnvTest,
                         ::testing::Values("compositional_goals", "compositional_preference"),
                         [](const auto& info) { return info.param; });

TEST(VectorEnv, RejectsBadSizes) {
  const auto family = std::dynamic_pointer_cast<const EnvFamily>(make_family("compositional_goals"));
  EXPECT_THROW(VectorEnv(*family, 0, 1), EnvError);
  VectorEnv vec(*family, 3, 1);
  std::vector<Task> two(2, family->task_space().task(0));
  EXPECT_THROW(vec.reset(two), EnvError);
  const int actions[3] = {0, 1, 2};
  EXPECT_THROW(vec.step(std::span<const int>(actions)), EnvError);  // before reset
}

}  // namespace
}  // namespace hc::envs
