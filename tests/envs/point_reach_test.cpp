#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "envs/point/point_reach.h"
#include "families/registry.h"

namespace hc::envs::point {
namespace {

class PointReach : public ::testing::Test {
 protected:
  PointReachFamily family_{PointReachConfig{}};
  std::unique_ptr<Env> env_ = family_.make_env();
  PointReachEnv& env() { return static_cast<PointReachEnv&>(*env_); }
  const Task& task(const std::string& text) {
    return family_.task_space().task(family_.task_space().find(text));
  }
};

TEST_F(PointReach, HasTheDocumentedTaskSpaceAndSpecs) {
  EXPECT_EQ(family_.task_space().size(), 4 * 5 * 2);
  EXPECT_EQ(family_.splits().ood.size(), 10u);
  EXPECT_EQ(family_.input_dim(), 4 + 2 * 4);
  EXPECT_EQ(family_.output_dim(), 2);
  EXPECT_EQ(family_.target_kind(), tasks::TargetKind::kActions);
  EXPECT_FALSE(family_.action_spec().discrete);
  EXPECT_TRUE(std::isinf(family_.observation_spec().high[2]));  // velocities are unbounded
}

// Without a force, the drift alone accelerates the mass in its direction; the weak actuator
// gives half the acceleration of the normal one.
TEST_F(PointReach, DriftAndActuatorAreWhatTheTaskSays) {
  const float zero[2] = {0, 0}, push[2] = {1, 0};
  env_->reset(5, task("goal=0 drift=north actuator=normal"));
  env_->step(Action::continuous(zero));
  EXPECT_NEAR(env().velocity()[0], 0.0f, 1e-6);
  EXPECT_NEAR(env().velocity()[1], 0.1f * 0.4f, 1e-6);  // dt x drift
  const auto speed_after_push = [&](const char* t) {
    env_->reset(5, task(t));
    env_->step(Action::continuous(push));
    return env().velocity()[0];
  };
  EXPECT_NEAR(speed_after_push("goal=0 drift=calm actuator=weak"),
              0.5f * speed_after_push("goal=0 drift=calm actuator=normal"), 1e-6);
}

TEST_F(PointReach, WallsStopTheMass) {
  const float left[2] = {-1, 0};
  env_->reset(1, task("goal=1 drift=west actuator=normal"));
  for (int i = 0; i < 40 && !env_->done(); ++i) env_->step(Action::continuous(left));
  EXPECT_EQ(env().position()[0], -1.0f);
  EXPECT_EQ(env().velocity()[0], 0.0f);
}

// The scripted expert solves (nearly) every episode of every task: measured on 1,000 episodes.
TEST_F(PointReach, ExpertSolvesAtLeast98PercentOfEpisodes) {
  const auto expert = family_.make_expert();
  int solved = 0, episodes = 0;
  for (int64_t id = 0; id < family_.task_space().size(); ++id)
    for (uint64_t seed = 0; seed < 25; ++seed) {
      solved += run_expert(*env_, *expert, seed, family_.task_space().task(id)).success;
      ++episodes;
    }
  const double rate = static_cast<double>(solved) / episodes;
  RecordProperty("expert_success_rate", std::to_string(rate));
  EXPECT_GE(rate, family_.expert_success_threshold()) << solved << " of " << episodes;
}

TEST_F(PointReach, RejectsADriftTheWeakActuatorCannotHold) {
  try {
    families::make_family(YAML::Load("{name: point_reach, drift: 1.5}"), "<test>");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("drift"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("weak_gain"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hc::envs::point
