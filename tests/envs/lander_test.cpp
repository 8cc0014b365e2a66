#include <gtest/gtest.h>

#include <cmath>

#include "base/error.h"
#include "envs/physics/lander.h"
#include "families/registry.h"

namespace hc::envs::physics {
namespace {

using M = LanderModule;

LanderConfig discrete_config() {
  LanderConfig c;
  c.actions = ActionKind::kDiscrete;
  return c;
}

class Lander : public ::testing::Test {
 protected:
  LanderConfig config_;
  LanderFamily family_{config_};
  std::unique_ptr<Env> env_ = family_.make_env();
  LanderEnv& env() { return static_cast<LanderEnv&>(*env_); }
  // The task whose active modules are `modules` (the default bank lists them in enum order).
  const Task& task(std::initializer_list<M> modules) {
    std::string text = "modules=[";
    for (const M m : modules)
      text += (text.back() == '[' ? "" : ",") + std::to_string(static_cast<int>(m));
    return family_.task_space().task(family_.task_space().find(text + "]"));
  }
  // The craft's change of velocity (and spin) over one step of `action` from the start of the
  // episode of `seed`: {dvx, dvy, dspin}.
  std::array<float, 3> change(const Task& t, float main, float lateral, uint64_t seed = 5) {
    env_->reset(seed, t);
    const b2Vec2 v0 = env().craft().GetLinearVelocity();
    const float w0 = env().craft().GetAngularVelocity();
    const float a[2] = {main, lateral};
    env_->step(Action::continuous(a));
    const b2Vec2 v1 = env().craft().GetLinearVelocity();
    return {v1.x - v0.x, v1.y - v0.y, env().craft().GetAngularVelocity() - w0};
  }
  double h() const { return config_.step.env_dt(); }
};

TEST_F(Lander, HasTheDocumentedTaskSpaceAndSpecs) {
  EXPECT_EQ(family_.task_space().size(), 255);
  EXPECT_FALSE(family_.task_space().categorical());
  EXPECT_EQ(family_.splits().train.size(), 69u);
  EXPECT_EQ(family_.splits().ood.size(), 23u);
  const std::map<int, size_t> by_hotness = {{4, 70}, {5, 56}, {6, 28}, {7, 8}, {8, 1}};
  for (const auto& [hot, n] : by_hotness)
    EXPECT_EQ(family_.splits().ood_by_hotness.at(hot).size(), n);
  EXPECT_EQ(family_.input_dim(), 9 + 2 * 3);
  EXPECT_EQ(family_.output_dim(), 2);
  EXPECT_EQ(family_.target_kind(), tasks::TargetKind::kActions);
  EXPECT_EQ(family_.action_spec().low[0], 0.0f);  // the main throttle cannot be negative
  const LanderFamily discrete(discrete_config());
  EXPECT_EQ(discrete.action_spec().names,
            (std::vector<std::string>{"nothing", "main", "left", "right"}));
  EXPECT_EQ(discrete.target_kind(), tasks::TargetKind::kLabels);
}

// The modules are hidden: the first observation of a seed is the same for every combination
// (pads and target are drawn per episode, from the seed alone).
TEST_F(Lander, ModulesAreNotInTheObservation) {
  env_->reset(9, task({M::kWindEast}));
  const std::vector<float> first = env_->observation();
  for (int64_t id = 0; id < family_.task_space().size(); id += 17) {
    env_->reset(9, family_.task_space().task(id));
    EXPECT_EQ(env_->observation(), first) << id;
  }
}

// The observation states the craft and pads in the documented units (10 m, 5 m/s), which keep
// every value of order one.
TEST_F(Lander, ObservationIsInTheDocumentedUnits) {
  env_->reset(3, task({M::kPull}));
  for (int i = 0; i < 4; ++i) {
    const float half[2] = {0.5f, 0.2f};
    env_->step(Action::continuous(half));
  }
  const std::vector<float> o = env_->observation();
  const b2Vec2 p = env().craft().GetPosition(), v = env().craft().GetLinearVelocity();
  EXPECT_FLOAT_EQ(o[0], p.x / 10);
  EXPECT_FLOAT_EQ(o[1], p.y / 10);
  EXPECT_FLOAT_EQ(o[2], v.x / 5);
  EXPECT_FLOAT_EQ(o[3], v.y / 5);
  EXPECT_FLOAT_EQ(o[5], env().craft().GetAngularVelocity());
  const int target = env().target();
  EXPECT_FLOAT_EQ(o[8], (env().pad_x(target) - p.x) / 10);
  for (int i = 0; i < config_.num_pads; ++i) {
    EXPECT_FLOAT_EQ(o[9 + i], env().pad_x(i) / 10);
    EXPECT_EQ(o[9 + config_.num_pads + i], i == target ? 1.0f : 0.0f);
  }
}

// Each module does what it says, measured as the change of velocity over one unpowered step
// (one full-throttle step for weak_main, a full side burst for inverted_sides) against what
// gravity alone gives. Box2D integrates the module forces exactly over each Box2D step; the
// state-dependent modules (shear, pull, drag) are evaluated where the craft is at each Box2D step,
// which moves by |v| dt, hence their looser tolerances (a few percent of the effect).
TEST_F(Lander, EachModulePushesAsDocumented) {
  const float g = static_cast<float>(config_.gravity);
  const auto free_fall = [&](const std::array<float, 3>& d) { return d[1] + g * h(); };
  auto d = change(task({M::kWindEast}), 0, 0);
  EXPECT_NEAR(d[0], config_.wind * h(), 1e-4);
  EXPECT_NEAR(free_fall(d), 0, 1e-4);
  d = change(task({M::kBallast}), 0, 0);
  EXPECT_NEAR(d[0], 0, 1e-5);
  EXPECT_NEAR(free_fall(d), -config_.ballast * h(), 1e-4);
  d = change(task({M::kSpin}), 0, 0);
  EXPECT_NEAR(d[2], config_.spin * h(), 1e-4);

  env_->reset(5, task({M::kShearWest}));
  const float y = env().craft().GetPosition().y;
  d = change(task({M::kShearWest}), 0, 0);
  EXPECT_NEAR(d[0], -config_.shear * y / 14 * h(), 0.02 * config_.shear * h());

  env_->reset(5, task({M::kPull}));
  const b2Vec2 p = env().craft().GetPosition();
  d = change(task({M::kPull}), 0, 0);
  const double slack = config_.pull * 2.0 * h() * h();  // the pull of the ~2 m/s x h moved
  EXPECT_NEAR(d[0], config_.pull * (0 - p.x) * h(), slack);
  EXPECT_NEAR(free_fall(d), config_.pull * (4 - p.y) * h(), slack);

  env_->reset(5, task({M::kDrag}));
  const b2Vec2 v = env().craft().GetLinearVelocity();
  d = change(task({M::kDrag}), 0, 0);
  EXPECT_NEAR(d[0], -config_.drag * v.x * h(), 0.05 * std::abs(config_.drag * v.x * h()) + 1e-5);

  // The weak main engine: a full-throttle step speeds the craft up less, by weak_main of the
  // engine's share along the craft's axis.
  env_->reset(5, task({M::kWeakMain}));
  const float tilt = std::cos(env().craft().GetAngle());
  const float strong = change(task({M::kWindEast}), 1, 0)[1];
  const float weak = change(task({M::kWeakMain}), 1, 0)[1];
  EXPECT_NEAR(strong - weak, config_.main_accel * config_.weak_main * tilt * h(), 2e-3);

  // Inverted side thrusters turn the craft the other way.
  const float right = change(task({M::kWindEast}), 0, 1)[2];
  EXPECT_NEAR(right, -config_.side_accel * h(), 1e-3);
  EXPECT_NEAR(change(task({M::kInvertedSides}), 0, 1)[2], -right, 1e-3);
}

// Effects add: the change under any two modules is the sum of their changes alone, each taken
// relative to free fall, up to what one module's effect does to the state the other's force
// depends on within the step: drag acts on a velocity the other changed (drag x h of it), pull
// and shear on a position moved by at most that change x h.
TEST_F(Lander, ModulesCombineByAddingTheirEffects) {
  const std::array<float, 3> fall = {0, -static_cast<float>(config_.gravity * h()), 0};
  const auto effect = [&](std::initializer_list<M> ms) {
    std::array<float, 3> d = change(task(ms), 0, 0);
    for (int k = 0; k < 3; ++k) d[k] -= fall[k];
    return d;
  };
  const double cross = config_.drag * h() + (config_.pull + config_.shear / 14) * h() * h();
  for (int a = 0; a < kLanderModules; ++a)
    for (int b = a + 1; b < kLanderModules; ++b) {
      const auto ma = static_cast<M>(a), mb = static_cast<M>(b);
      const auto both = effect({ma, mb}), ea = effect({ma}), eb = effect({mb});
      for (int k = 0; k < 3; ++k)
        EXPECT_NEAR(both[k], ea[k] + eb[k], 1e-4 + cross * (std::abs(ea[k]) + std::abs(eb[k])))
            << module_name(ma) << " + " << module_name(mb) << ", component " << k;
    }
}

// Falling without the engine ends in a crash, a failure (never a success).
TEST_F(Lander, AnUnpoweredFallCrashes) {
  const float nothing[2] = {0, 0};
  env_->reset(2, task({M::kWindEast}));
  while (!env_->done()) env_->step(Action::continuous(nothing));
  EXPECT_EQ(env_->end_reason(), EndReason::kFailed);
  EXPECT_FALSE(env_->success());
  EXPECT_EQ(env().status(), LanderStatus::kCrashedFast);
}

// The scripted expert lands (nearly) every episode of every combination of modules, with either
// action space: 255 tasks x 40 seeds = 10,200 episodes each.
void expect_expert_solves(const LanderFamily& family) {
  auto env = family.make_env();
  const auto expert = family.make_expert();
  int solved = 0, episodes = 0;
  for (int64_t id = 0; id < family.task_space().size(); ++id)
    for (uint64_t seed = 0; seed < 40; ++seed) {
      solved += run_expert(*env, *expert, seed, family.task_space().task(id)).success;
      ++episodes;
    }
  const double rate = static_cast<double>(solved) / episodes;
  ::testing::Test::RecordProperty("expert_success_rate", std::to_string(rate));
  EXPECT_GE(rate, family.expert_success_threshold()) << solved << " of " << episodes;
}

// One subroutine per force module, selecting exactly the task of that module alone.
TEST_F(Lander, SubroutinesAreTheTasksOfOneModuleAlone) {
  const std::vector<tasks::Subroutine> subs = family_.subroutines();
  ASSERT_EQ(subs.size(), config_.modules.size());
  const auto& space = family_.task_space();
  for (size_t m = 0; m < subs.size(); ++m) {
    EXPECT_EQ(subs[m].name, config_.modules[m]);
    const Task& alone = task({static_cast<M>(m)});
    int selected = 0;
    for (int64_t id = 0; id < space.size(); ++id) selected += subs[m].uses_task(space.task(id));
    EXPECT_EQ(selected, 1) << subs[m].name;
    EXPECT_TRUE(subs[m].uses_task(alone)) << subs[m].name;
    EXPECT_FALSE(subs[m].uses_task(task({static_cast<M>(m), static_cast<M>((m + 1) % 8)})));
  }
}

// A replay of the query demonstrations reaches their states: the expert, asked again in each,
// gives the recorded action to the bit.
TEST_F(Lander, ReplayReachesTheDemonstrationsStates) {
  const LanderExpert expert;
  for (const M m : {M::kWindEast, M::kWeakMain}) {
    const tasks::TaskData d = family_.make_task_data(task({m}), 17);
    int64_t visited = 0;
    family_.replay_query(d, 17, [&](Env& e, int64_t row) {
      const Action a = expert.act(e, {});
      ASSERT_EQ(a.dim, 2);
      EXPECT_EQ(a.value[0], d.query.targets[row * 2]) << row;
      EXPECT_EQ(a.value[1], d.query.targets[row * 2 + 1]) << row;
      ++visited;
    });
    EXPECT_EQ(visited, d.query.rows);
  }
}

// A module subroutine counts the steps where the module changes the expert's action beyond the
// tolerance, exactly those; for the wind, some of a landing and not all of it. (Some modules,
// such as the weakened main engine, rarely or never change the action that much: the probe
// leaves such a subroutine out, having nothing to score it on.)
TEST_F(Lander, SubroutinesCountTheStepsTheModuleChanges) {
  const std::vector<tasks::Subroutine> subs = family_.subroutines();
  const LanderExpert expert;
  const auto tolerance = static_cast<float>(family_.action_tolerance());
  for (size_t m = 0; m < subs.size(); ++m) {
    const M module = family_.bank()[m];
    ASSERT_EQ(subs[m].name, module_name(module));
    int64_t changed = 0, rows = 0;
    for (uint64_t seed : {23, 24, 25}) {
      tasks::TaskData d = family_.make_task_data(task({module}), seed);
      const std::vector<uint8_t> steps = family_.module_steps(d, seed);
      ASSERT_EQ(static_cast<int64_t>(steps.size()), d.query.rows);
      int64_t here = 0;
      family_.replay_query(d, seed, [&](Env& e, int64_t row) {
        auto& lander = static_cast<LanderEnv&>(e);
        const Action with = expert.act(lander, {});
        const auto strengths = lander.strengths();
        lander.set_strengths({});
        const Action without = expert.act(lander, {});
        lander.set_strengths(strengths);
        const bool differ = std::abs(with.value[0] - without.value[0]) > tolerance ||
                            std::abs(with.value[1] - without.value[1]) > tolerance;
        EXPECT_EQ(steps[row], differ) << subs[m].name << " row " << row;
        here += differ;
      });
      EXPECT_EQ(subs[m].select_rows(d, seed), here) << subs[m].name;
      changed += here;
      rows += d.query.rows;
    }
    if (module == M::kWindEast) {
      EXPECT_GT(changed, 0);
      EXPECT_LT(changed, rows);
    }
  }
}

TEST_F(Lander, ExpertSolvesAtLeast98PercentOfEpisodes) { expect_expert_solves(family_); }

TEST_F(Lander, DiscreteExpertSolvesAtLeast98PercentOfEpisodes) {
  expect_expert_solves(LanderFamily(discrete_config()));
}

TEST_F(Lander, SceneDrawsTheCraftPadsAndCaption) {
  env_->reset(2, task({M::kWindEast, M::kSpin}));
  const Scene s = env_->scene();
  int craft = 0, target = 0;
  for (const Shape& shape : s.shapes) {
    craft += shape.kind == Shape::Kind::kPolygon && shape.glyph == '@';
    target += shape.glyph == '#';
  }
  EXPECT_EQ(craft, 3);  // hull and two legs, from their Box2D shapes
  EXPECT_EQ(target, 1);
  EXPECT_NE(s.caption.find("wind_east+spin"), std::string::npos) << s.caption;
  EXPECT_NE(s.caption.find("target pad"), std::string::npos) << s.caption;
}

void expect_config_error(const std::string& yaml, const std::string& key) {
  try {
    families::make_family(YAML::Load("{name: lander, " + yaml + "}"), "<test>");
    FAIL() << "no error for " << yaml;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
  }
}

TEST_F(Lander, RejectsBadConfigurationsNamingTheKey) {
  expect_config_error("num_hot: 3, modules: [wind_east, spin]", "num_hot");  // more than exist
  expect_config_error("num_hot: 9", "num_hot");
  expect_config_error("modules: [wind_east, gale]", "gale");
  expect_config_error("modules: [wind_east, wind_east]", "modules");
  expect_config_error("modules: []", "modules");
  expect_config_error("num_pads: 0", "num_pads");
  expect_config_error("num_pads: 6, pad_width: 3", "num_pads");
  expect_config_error("gravity: -5", "gravity");
  expect_config_error("main_accel: 8", "main_accel");
  expect_config_error("spin: 8", "spin");
  expect_config_error("drag: -1", "drag");
  expect_config_error("dt: 0", "dt");
  expect_config_error("dt: -0.01", "dt");
  expect_config_error("weak_main: -0.1", "weak_main");
  expect_config_error("support: k_hot, num_hot: 0", "num_hot");
}

}  // namespace
}  // namespace hc::envs::physics
