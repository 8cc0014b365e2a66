// The conformance checks must be able to fail: broken families are caught.
#include <gtest/gtest.h>

#include "envs/core/check.h"
#include "envs/grid/goals.h"
#include "families/check.h"
#include "tests/families/key_corridor.h"

#include <iostream>

namespace hc::families {
using namespace hc::tasks;
using namespace hc::envs;

namespace {

// An expert that wastes one step before following the shortest path.
class DetourExpert : public grid::GoalsExpert {
 public:
  using GoalsExpert::GoalsExpert;
  Action act(const Env& env, std::span<float> values) const override {
    if (env.elapsed() == 0) {
      const auto& e = dynamic_cast<const grid::GoalsEnv&>(env);
      for (int a = 0; a < 4; ++a)  // a move that does not shorten the path
        if (e.maze().distance(e.maze().next(e.agent(), a), e.goal_cell()) >=
            e.maze().distance(e.agent(), e.goal_cell()))
          return Action::discrete(a);
    }
    return GoalsExpert::act(env, values);
  }
};

class DetourFamily : public grid::GoalsFamily {
 public:
  DetourFamily() : GoalsFamily(grid::GoalsConfig{}) {}
  std::unique_ptr<Expert> make_expert() const override {
    return std::make_unique<DetourExpert>(discount());
  }
};

// An environment whose observations leave the spec (a 2 in a one-hot encoding).
class LoudEnv : public grid::GoalsEnv {
 public:
  using GoalsEnv::GoalsEnv;
  void observe(std::span<float> out) const override {
    GoalsEnv::observe(out);
    out[0] = 2.0f;
  }
};

class LoudFamily : public grid::GoalsFamily {
 public:
  LoudFamily() : GoalsFamily(grid::GoalsConfig{}) {}
  std::unique_ptr<Env> make_env() const override {
    return std::make_unique<LoudEnv>(*this, shared_world());
  }
  std::shared_ptr<const grid::GoalsWorld> shared_world() const {
    return std::shared_ptr<const grid::GoalsWorld>(&world(), [](const grid::GoalsWorld*) {});
  }
};

TEST(Checks, CatchASuboptimalExpert) {
  DetourFamily family;
  CheckReport r;
  check_expert(family, CheckOptions{}, r);
  EXPECT_FALSE(r.ok());
}

TEST(Checks, CatchObservationsOutsideTheSpec) {
  LoudFamily family;
  CheckReport r;
  check_observations(family, CheckOptions{}, r);
  EXPECT_FALSE(r.ok());
}

using testing::Bug;
using testing::KeyCorridorFamily;

bool has(const CheckReport& r, const std::string& text) {
  for (const auto& f : r.failures)
    if (f.find(text) != std::string::npos) return true;
  return false;
}

// The family written from scratch passes every check, so the failures below are its bugs'.
TEST(Checks, PassAFamilyWrittenFromScratch) {
  const CheckReport r = check_family(KeyCorridorFamily(Bug::kNone));
  EXPECT_TRUE(r.ok()) << r.summary();
}

// `hypercomp check` runs check_family: what it prints is r.summary(), shown here too.
TEST(Checks, NameStateKeptAcrossReset) {
  const CheckReport r = check_family(KeyCorridorFamily(Bug::kKeyKeptAcrossReset));
  std::cout << "key_corridor with the held key kept across reset: " << r.summary() << "\n";
  EXPECT_TRUE(has(r, "state kept across reset")) << r.summary();
  EXPECT_TRUE(has(r, "held_key: false vs true (fresh vs used)")) << r.summary();
}

TEST(Checks, NameWhatTheExpertUsesThatTheObservationLacks) {
  const CheckReport r = check_family(KeyCorridorFamily(Bug::kHeldKeyNotObserved));
  std::cout << "key_corridor without the held key in its observation: " << r.summary() << "\n";
  EXPECT_TRUE(has(r, "the observation does not show what the expert acts on")) << r.summary();
  EXPECT_TRUE(has(r, "the expert uses what the observation lacks: held_key: ")) << r.summary();
  // Only the held key differs between the two states: the message names nothing else.
  EXPECT_FALSE(has(r, "lacks: agent")) << r.summary();
}

TEST(Checks, PassTheRealFamily) {
  grid::GoalsFamily family(grid::GoalsConfig{});
  const CheckReport r = check_family(family);
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_GT(r.checked, 1000);
}

}  // namespace
}  // namespace hc::families
