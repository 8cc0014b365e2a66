#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "envs/physics/push.h"
#include "families/registry.h"

namespace hc::envs::physics {
namespace {

PushConfig discrete_config() {
  PushConfig c;
  c.actions = ActionKind::kDiscrete;
  return c;
}

class Push : public ::testing::Test {
 protected:
  PushFamily family_{PushConfig{}};
  std::unique_ptr<Env> env_ = family_.make_env();
  PushEnv& env() { return static_cast<PushEnv&>(*env_); }
  const Task& task(const std::string& text) {
    return family_.task_space().task(family_.task_space().find(text));
  }
  // A unit force from the agent towards the object.
  Action towards_object(float sign = 1) {
    b2Vec2 d = env().object().GetPosition() - env().agent().GetPosition();
    d.Normalize();
    const float u[2] = {sign * d.x, sign * d.y};
    return Action::continuous(u);
  }
  // Drives the agent into the object for `steps` steps (the agent starts apart from it).
  void push_for(int steps) {
    for (int i = 0; i < steps; ++i) env_->step(towards_object());
  }
};

// One subroutine per floor; together they partition the tasks, a third each.
TEST_F(Push, SubroutinesAreTheFloors) {
  const std::vector<tasks::Subroutine> subs = family_.subroutines();
  ASSERT_EQ(subs.size(), 3u);
  const char* names[] = {"floor_normal", "floor_icy", "floor_sticky"};
  const auto& space = family_.task_space();
  for (int64_t id = 0; id < space.size(); ++id) {
    const Task& t = space.task(id);
    int selecting = 0;
    for (int f = 0; f < 3; ++f) {
      EXPECT_EQ(subs[f].name, names[f]);
      EXPECT_EQ(subs[f].uses_task(t), t.values[2] == f) << space.describe(t);
      selecting += subs[f].uses_task(t);
    }
    EXPECT_EQ(selecting, 1) << space.describe(t);
  }
  EXPECT_TRUE(subs[1].uses_task(task("object=box zone=0 floor=icy mass=light")));
}

TEST_F(Push, HasTheDocumentedTaskSpaceAndSpecs) {
  EXPECT_EQ(family_.task_space().size(), 3 * 4 * 3 * 2);
  EXPECT_EQ(family_.splits().ood.size(), 18u);
  EXPECT_EQ(family_.input_dim(), 14 + 2 * 4);
  EXPECT_EQ(family_.output_dim(), 2);
  EXPECT_EQ(family_.target_kind(), tasks::TargetKind::kActions);
  EXPECT_TRUE(std::isinf(family_.observation_spec().high[2]));  // velocities are unbounded
  const PushFamily discrete(discrete_config());
  EXPECT_EQ(discrete.output_dim(), 9);
  EXPECT_EQ(discrete.target_kind(), tasks::TargetKind::kLabels);
  EXPECT_EQ(discrete.action_spec().names[3], "east");
}

// Zone, floor and mass are hidden: the first observation of a seed is the same whatever they
// are (only the object's kind, which the agent sees, changes it).
TEST_F(Push, HiddenFactorsAreNotInTheObservation) {
  env_->reset(7, task("object=box zone=0 floor=normal mass=light"));
  const std::vector<float> first = env_->observation();
  for (const char* t :
       {"object=box zone=3 floor=icy mass=heavy", "object=box zone=1 floor=sticky mass=light"}) {
    env_->reset(7, task(t));
    EXPECT_EQ(env_->observation(), first) << t;
  }
}

// Away from the agent, the object slows by its floor's damping alone: Box2D scales a body's
// velocity by 1 / (1 + dt x damping) at every Box2D step. The only difference from that product
// is float rounding of a few multiplications, hence the tolerance.
TEST_F(Push, TheFloorIsTheObjectsDamping) {
  const PushConfig c;
  const std::pair<const char*, double> floors[] = {
      {"normal", c.normal_damping}, {"icy", c.icy_damping}, {"sticky", c.sticky_damping}};
  for (const auto& [floor, damping] : floors) {
    env_->reset(3, task(std::string("object=disc zone=0 floor=") + floor + " mass=light"));
    for (int i = 0; i < 40 && env().object().GetLinearVelocity().Length() < 0.3f; ++i)
      env_->step(towards_object());
    ASSERT_GT(env().object().GetLinearVelocity().Length(), 0.3f) << floor;
    // Pull the agent back until it no longer touches the object.
    for (int i = 0; i < 3; ++i) env_->step(towards_object(-1));
    ASSERT_GT(env().gap(), 0.0f) << floor;
    const float v0 = env().object().GetLinearVelocity().Length();
    env_->step(towards_object(-1));
    ASSERT_GT(env().gap(), 0.0f) << floor;
    const double expected = std::pow(1.0 / (1.0 + c.step.dt * damping), c.step.sub_steps);
    EXPECT_NEAR(env().object().GetLinearVelocity().Length() / v0, expected, 1e-5) << floor;
  }
}

// The same pushes, then the agent lets go: on ice the object slides furthest, on the sticky
// floor least.
TEST_F(Push, IcyFloorSlidesFurtherThanNormalThanSticky) {
  const auto slide = [&](const char* floor) {
    env_->reset(3, task(std::string("object=disc zone=0 floor=") + floor + " mass=light"));
    push_for(12);
    const b2Vec2 released = env().object().GetPosition();
    for (int i = 0; i < 30 && !env_->done(); ++i) env_->step(towards_object(-1));
    return (env().object().GetPosition() - released).Length();
  };
  const float icy = slide("icy"), normal = slide("normal"), sticky = slide("sticky");
  EXPECT_GT(icy, normal);
  EXPECT_GT(normal, sticky);
}

// The agent runs into the object the same way whatever its mass (the object does not move until
// then); the step of the impact leaves a heavy object (2 kg) much slower than a light one
// (0.5 kg): an inelastic head-on impact of the 1 kg agent gives it m_agent / (m_agent +
// m_object) of the agent's speed, 1/3 against 2/3.
TEST_F(Push, HeavyObjectsSpeedUpLess) {
  const auto speed_after_impact = [&](const char* mass) {
    env_->reset(3, task(std::string("object=disc zone=0 floor=normal mass=") + mass));
    for (int i = 0; i < 40 && env().object().GetLinearVelocity().Length() == 0; ++i)
      env_->step(towards_object());
    return env().object().GetLinearVelocity().Length();
  };
  const float light = speed_after_impact("light"), heavy = speed_after_impact("heavy");
  EXPECT_GT(light, 0.0f);
  EXPECT_LT(heavy, 0.75f * light) << heavy << " vs " << light;
}

// A discrete action is a force of discrete_force in its compass direction: from rest, the agent's
// velocity after one step is that of a damped mass (Box2D: v += dt F / m, then v /= 1 + dt d, at
// every Box2D step), up to float rounding.
TEST_F(Push, DiscreteActionsPushAtTheirForceInTheirDirection) {
  const PushFamily discrete(discrete_config());
  auto e = discrete.make_env();
  e->reset(4, discrete.task_space().task(0));
  const PushConfig c = discrete_config();
  double v = 0;
  for (int s = 0; s < c.step.sub_steps; ++s)
    v = (v + c.step.dt * c.discrete_force / c.agent_mass) / (1 + c.step.dt * c.agent_damping);
  e->step(Action::discrete(3));  // east
  const b2Vec2 got = static_cast<const PushEnv&>(*e).agent().GetLinearVelocity();
  EXPECT_NEAR(got.x, v, 1e-5);
  EXPECT_EQ(got.y, 0.0f);
}

TEST_F(Push, WallsKeepTheAgentOnTheTable) {
  const float right[2] = {1, 0};
  env_->reset(1, task("object=box zone=1 floor=icy mass=light"));
  for (int i = 0; i < 100 && !env_->done(); ++i) env_->step(Action::continuous(right));
  const PushConfig c;
  EXPECT_LE(env().agent().GetPosition().x, c.table - c.agent_radius + 0.01);
  EXPECT_GT(env().agent().GetPosition().x, c.table - c.agent_radius - 0.05);
}

TEST_F(Push, SceneDrawsEveryBodyAndCaptionsThePositions) {
  env_->reset(2, task("object=triangle zone=2 floor=sticky mass=heavy"));
  const Scene s = env_->scene();
  int triangles = 0, lines = 0;
  for (const Shape& shape : s.shapes) {
    triangles +=
        shape.kind == Shape::Kind::kPolygon && shape.points.size() == 3 && shape.glyph == 'T';
    lines += shape.kind == Shape::Kind::kLine;
  }
  EXPECT_EQ(triangles, 1);
  EXPECT_GE(lines, 1);  // the walls
  EXPECT_TRUE(s.y_up);
  EXPECT_NE(s.caption.find("triangle ("), std::string::npos) << s.caption;
  EXPECT_NE(s.caption.find("to zone 2"), std::string::npos) << s.caption;
}

// The scripted expert solves (nearly) every episode of every task, with either action space:
// measured on 72 tasks x 50 seeds = 3,600 episodes each.
void expect_expert_solves(const PushFamily& family) {
  auto env = family.make_env();
  const auto expert = family.make_expert();
  int solved = 0, episodes = 0;
  for (int64_t id = 0; id < family.task_space().size(); ++id)
    for (uint64_t seed = 0; seed < 50; ++seed) {
      solved += run_expert(*env, *expert, seed, family.task_space().task(id)).success;
      ++episodes;
    }
  const double rate = static_cast<double>(solved) / episodes;
  ::testing::Test::RecordProperty("expert_success_rate", std::to_string(rate));
  EXPECT_GE(rate, family.expert_success_threshold()) << solved << " of " << episodes;
}

TEST_F(Push, ExpertSolvesAtLeast98PercentOfEpisodes) { expect_expert_solves(family_); }

TEST_F(Push, DiscreteExpertSolvesAtLeast98PercentOfEpisodes) {
  expect_expert_solves(PushFamily(discrete_config()));
}

void expect_config_error(const std::string& yaml, const std::string& key) {
  try {
    families::make_family(YAML::Load("{name: push, " + yaml + "}"), "<test>");
    FAIL() << "no error for " << yaml;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

TEST_F(Push, RejectsBadConfigurationsNamingTheKey) {
  expect_config_error("num_zones: 0", "num_zones");
  expect_config_error("icy_damping: -0.5", "icy_damping");
  expect_config_error("icy_damping: 0", "icy_damping");
  expect_config_error("sticky_damping: 1", "sticky_damping");  // not above normal
  expect_config_error("contact_friction: -0.1", "contact_friction");
  expect_config_error("light_mass: -1", "light_mass");
  expect_config_error("heavy_mass: -2", "heavy_mass");
  expect_config_error("heavy_mass: 0.3", "heavy_mass");  // not above light
  expect_config_error("agent_mass: 0", "agent_mass");
  expect_config_error("dt: 0", "dt");
  expect_config_error("dt: -0.01", "dt");
  expect_config_error("sub_steps: 0", "sub_steps");
  expect_config_error("max_force: 2", "max_force");
  expect_config_error("zone_ring: 1.4", "zone_ring");
  expect_config_error("actions: joystick", "actions");
}

}  // namespace
}  // namespace hc::envs::physics
