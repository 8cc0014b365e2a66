#include "envs/physics/lander.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

#include "base/error.h"

namespace hc::envs::physics {
namespace {

constexpr float kHalfWidth = 10;         // the valley spans x in [-10, 10] (m)
constexpr float kCeiling = 14;           // m
constexpr float kPullX = 0, kPullY = 4;  // the point the pull module attracts to (m)
constexpr float kPadMargin = 1;  // pads keep this far from the walls and from each other (m)
constexpr float kStartX = 7;     // the craft starts at x in [-7, 7] ...
constexpr float kStartY0 = 10, kStartY1 = 12;  // ... and y in [10, 12] (m)
// The craft, in its own frame (m): a trapezoid hull and two splayed legs ending in feet.
const b2Vec2 kHull[] = {{-0.5f, -0.25f}, {0.5f, -0.25f}, {0.3f, 0.35f}, {-0.3f, 0.35f}};
const b2Vec2 kLeftLeg[] = {{-0.42f, -0.25f}, {-0.34f, -0.25f}, {-0.62f, -0.7f}, {-0.72f, -0.7f}};
const b2Vec2 kFeet[] = {{-0.67f, -0.7f}, {0.67f, -0.7f}};
constexpr uintptr_t kGroundTag = 1, kWallTag = 2, kHullTag = 3, kLegTag = 4;  // + leg index
constexpr float kPi = std::numbers::pi_v<float>;
// The observation measures lengths in units of 10 m and speeds in units of 5 m/s, so that its
// values are of order one like every other family's (learners adapt with one learning rate).
constexpr float kObsLength = 10, kObsSpeed = 5;

constexpr std::pair<LanderModule, const char*> kModuleNames[] = {
    {LanderModule::kWindEast, "wind_east"}, {LanderModule::kShearWest, "shear_west"},
    {LanderModule::kPull, "pull"},          {LanderModule::kBallast, "ballast"},
    {LanderModule::kWeakMain, "weak_main"}, {LanderModule::kInvertedSides, "inverted_sides"},
    {LanderModule::kDrag, "drag"},          {LanderModule::kSpin, "spin"}};

std::string module_list() {
  std::string s;
  for (const auto& [m, name] : kModuleNames) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

// The bank's modules from their names; the names were checked by validate().
std::vector<LanderModule> parse_bank(const std::vector<std::string>& names) {
  std::vector<LanderModule> bank;
  for (const std::string& n : names)
    for (const auto& [m, name] : kModuleNames)
      if (n == name) bank.push_back(m);
  return bank;
}

ObservationSpec make_obs_spec(const LanderConfig& c) {
  const float x = kHalfWidth / kObsLength, y = kCeiling / kObsLength;
  std::vector<std::string> names = {"x",    "y",        "vx",        "vy",       "angle",
                                    "spin", "left_leg", "right_leg", "target_dx"};
  std::vector<float> low = {-x, 0, -INFINITY, -INFINITY, -kPi, -INFINITY, 0, 0, -2 * x};
  std::vector<float> high = {x, y, INFINITY, INFINITY, kPi, INFINITY, 1, 1, 2 * x};
  for (int i = 0; i < c.num_pads; ++i) {
    names.push_back(fmt::format("pad{}_x", i));
    low.push_back(-x);
    high.push_back(x);
  }
  for (int i = 0; i < c.num_pads; ++i) {
    names.push_back(fmt::format("pad{}_target", i));
    low.push_back(0);
    high.push_back(1);
  }
  return ObservationSpec::vector(std::move(names), std::move(low), std::move(high));
}

ActionSpec make_act_spec(const LanderConfig& c) {
  if (c.actions == ActionKind::kDiscrete)
    return ActionSpec::actions({"nothing", "main", "left", "right"});
  return ActionSpec::box({"main", "lateral"}, {0, -1}, {1, 1});
}

// The (main, lateral) of a discrete action.
constexpr float kDiscrete[4][2] = {{0, 0}, {1, 0}, {0, -1}, {0, 1}};

}  // namespace

const char* module_name(LanderModule m) {
  for (const auto& [v, name] : kModuleNames)
    if (v == m) return name;
  return "?";
}

const char* status_name(LanderStatus s) {
  switch (s) {
    case LanderStatus::kFlying:
      return "flying";
    case LanderStatus::kLanded:
      return "landed on the target pad";
    case LanderStatus::kOffPad:
      return "landed off the target pad";
    case LanderStatus::kCrashedHull:
      return "crashed: the hull hit the ground";
    case LanderStatus::kCrashedFast:
      return "crashed: touched down too fast";
    case LanderStatus::kCrashedTilted:
      return "crashed: touched down tilted";
    case LanderStatus::kCrashedWall:
      return "crashed: hit a wall or the ceiling";
  }
  return "?";
}

void LanderConfig::validate(const ConfigReader& r) const {
  if (modules.empty()) r.fail_value("modules", "at least one module", "[]");
  for (size_t i = 0; i < modules.size(); ++i) {
    bool known = false;
    for (const auto& [m, name] : kModuleNames) known = known || modules[i] == name;
    if (!known) r.fail_value("modules", "names among " + module_list(), "'" + modules[i] + "'");
    for (size_t j = 0; j < i; ++j)
      if (modules[j] == modules[i])
        r.fail_value("modules", "each module once", "'" + modules[i] + "' twice");
  }
  if (num_hot > static_cast<int>(modules.size()))
    r.fail_value("num_hot", fmt::format("at most the number of modules ({})", modules.size()),
                 std::to_string(num_hot));
  const double span = 2 * (kHalfWidth - kPadMargin) - pad_width;
  if ((num_pads - 1) * (pad_width + kPadMargin) > 0.5 * span)
    r.fail_value(
        "num_pads",
        fmt::format("at most {} pads of width {} (they must fit apart in the valley)",
                    1 + static_cast<int>(0.5 * span / (pad_width + kPadMargin)), pad_width),
        std::to_string(num_pads));
  // Worst case over the valley with every module of the bank on: the weakened main engine must
  // still hold the craft, with a quarter to spare for steering.
  const std::vector<LanderModule> bank = parse_bank(modules);
  const auto on = [&](LanderModule m) {
    return std::find(bank.begin(), bank.end(), m) != bank.end() ? 1.0 : 0.0;
  };
  const double side = on(LanderModule::kWindEast) * wind + on(LanderModule::kShearWest) * shear +
                      on(LanderModule::kPull) * pull * 2 * kHalfWidth;
  const double down =
      gravity + on(LanderModule::kBallast) * ballast + on(LanderModule::kPull) * pull * kCeiling;
  const double need = 1.25 * std::hypot(side, down);
  const double have = main_accel * (1 - on(LanderModule::kWeakMain) * weak_main);
  if (have < need)
    r.fail_value("main_accel",
                 fmt::format("at least {:.3g} m/s^2 (1.25 x the worst pull of gravity and the "
                             "modules, {:.3g}, over the main engine's remaining share {:.3g})",
                             need / (have / main_accel), need / 1.25, have / main_accel),
                 shortest(main_accel));
  if (on(LanderModule::kSpin) * spin * 2 > side_accel)
    r.fail_value("spin",
                 fmt::format("at most half of side_accel ({}), else the side thrusters "
                             "cannot hold the craft upright",
                             side_accel),
                 shortest(spin));
}

LanderFamily::LanderFamily(const Config& c)
    : EnvFamily(kName,
                TaskSpace::k_hot("module", /*groups=*/1, static_cast<int>(c.modules.size()),
                                 /*max_hot=*/static_cast<int>(c.modules.size())),
                c.split.spec(c.num_hot), c.split.seed, /*continuous_weights=*/false, c.demos,
                make_obs_spec(c), make_act_spec(c)),
      config_(c),
      bank_(parse_bank(c.modules)) {
  if (bank_.size() != c.modules.size())
    throw ConfigError(fmt::format("{}: modules: expected names among {}", kName, module_list()));
}

std::unique_ptr<Env> LanderFamily::make_env() const {
  return std::make_unique<LanderEnv>(*this, config_, bank_);
}

std::unique_ptr<Expert> LanderFamily::make_expert() const {
  return std::make_unique<LanderExpert>();
}

std::vector<tasks::Subroutine> LanderFamily::subroutines() const {
  std::vector<tasks::Subroutine> out;
  for (size_t m = 0; m < bank_.size(); ++m) {
    tasks::Subroutine s{module_name(bank_[m]),
                        fmt::format("landing under the {} module alone", module_name(bank_[m]))};
    s.uses_task = [bit = 1 << m](const tasks::Task& t) { return t.values[0] == bit; };
    s.query_rows = [this](const tasks::TaskData& d, uint64_t seed) {
      return module_steps(d, seed);
    };
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<uint8_t> LanderFamily::module_steps(const tasks::TaskData& data, uint64_t seed) const {
  std::vector<uint8_t> rows(data.query.rows, 0);
  const LanderExpert expert;
  const auto tolerance = static_cast<float>(action_tolerance());
  replay_query(data, seed, [&](Env& env, int64_t row) {
    auto& e = dynamic_cast<LanderEnv&>(env);
    const Action with = expert.act(e, {});
    const std::array<float, kLanderModules> strengths = e.strengths();
    e.set_strengths({});
    const Action without = expert.act(e, {});
    e.set_strengths(strengths);
    bool differ = with.index != without.index;
    for (int j = 0; j < with.dim; ++j)
      differ = differ || std::abs(with.value[j] - without.value[j]) > tolerance;
    rows[row] = differ;
  });
  return rows;
}

LanderEnv::LanderEnv(const EnvFamily& family, const LanderConfig& config,
                     const std::vector<LanderModule>& bank)
    : Env(family, config.max_steps), config_(config), bank_(bank) {}

std::array<float, kLanderModules> LanderEnv::strengths() const {
  std::array<float, kLanderModules> s;
  std::copy(std::begin(strength_), std::end(strength_), s.begin());
  return s;
}

void LanderEnv::set_strengths(const std::array<float, kLanderModules>& s) {
  std::copy(s.begin(), s.end(), std::begin(strength_));
}

float LanderEnv::main_gain() const {
  return 1.0f - strength(LanderModule::kWeakMain) * static_cast<float>(config_.weak_main);
}

float LanderEnv::side_gain() const { return 1.0f - 2.0f * strength(LanderModule::kInvertedSides); }

b2Vec2 LanderEnv::external_accel(b2Vec2 p, b2Vec2 v) const {
  const LanderConfig& c = config_;
  b2Vec2 a(0, -static_cast<float>(c.gravity));
  a.x += strength(LanderModule::kWindEast) * static_cast<float>(c.wind);
  a.x -= strength(LanderModule::kShearWest) * static_cast<float>(c.shear) *
         std::clamp(p.y / kCeiling, 0.0f, 1.0f);
  const float pull = strength(LanderModule::kPull) * static_cast<float>(c.pull);
  a += pull * b2Vec2(kPullX - p.x, kPullY - p.y);
  a.y -= strength(LanderModule::kBallast) * static_cast<float>(c.ballast);
  a -= (strength(LanderModule::kDrag) * static_cast<float>(c.drag)) * v;
  return a;
}

float LanderEnv::external_spin() const {
  return strength(LanderModule::kSpin) * static_cast<float>(config_.spin);
}

void LanderEnv::on_reset(Rng& rng, const Task& task) {
  const LanderConfig& c = config_;
  std::fill(std::begin(strength_), std::end(strength_), 0.0f);
  for (size_t i = 0; i < bank_.size(); ++i) strength_[static_cast<int>(bank_[i])] = task.weights[i];
  const auto uniform = [&](double lo, double hi) {
    return static_cast<float>(rng.uniform(lo, hi));
  };

  // Pads apart from each other, by rejection; a stuck placement starts over (validate() keeps
  // the pads to at most half of what the valley could hold, so that seldom happens).
  const auto w = static_cast<float>(c.pad_width);
  const float reach = kHalfWidth - kPadMargin - w / 2;
  pads_.assign(c.num_pads, 0.0f);
  for (int i = 0, tries = 0; i < c.num_pads; ++tries) {
    if (tries == 1000) i = tries = 0;
    pads_[i] = uniform(-reach, reach);
    bool apart = true;
    for (int j = 0; j < i; ++j) apart = apart && std::abs(pads_[i] - pads_[j]) >= w + kPadMargin;
    if (apart) ++i;
  }
  target_ = static_cast<int>(rng.uniform_int(static_cast<uint64_t>(c.num_pads)));
  const b2Vec2 start(uniform(-kStartX, kStartX), uniform(kStartY0, kStartY1));
  const b2Vec2 velocity(uniform(-1, 1), uniform(-1, 0));
  const float angle = uniform(-0.1, 0.1);

  world_ = make_world({0, -static_cast<float>(c.gravity)});
  b2BodyDef ground_def;
  b2Body* ground = world_->CreateBody(&ground_def);
  b2EdgeShape floor;
  floor.SetTwoSided({-kHalfWidth, 0}, {kHalfWidth, 0});
  b2FixtureDef floor_fixture;
  floor_fixture.shape = &floor;
  floor_fixture.friction = 1.0f;
  floor_fixture.userData.pointer = kGroundTag;
  ground->CreateFixture(&floor_fixture);
  // Walls and ceiling: one-sided edges facing into the valley.
  const b2Vec2 box[] = {
      {-kHalfWidth, 0}, {-kHalfWidth, kCeiling}, {kHalfWidth, kCeiling}, {kHalfWidth, 0}};
  b2ChainShape walls;
  walls.CreateChain(box, 4, {-kHalfWidth, -1}, {kHalfWidth, -1});
  b2FixtureDef wall_fixture;
  wall_fixture.shape = &walls;
  wall_fixture.userData.pointer = kWallTag;
  ground->CreateFixture(&wall_fixture);

  b2BodyDef craft_def;
  craft_def.type = b2_dynamicBody;
  craft_def.position = start;
  craft_def.angle = angle;
  craft_def.linearVelocity = velocity;
  craft_ = world_->CreateBody(&craft_def);
  b2PolygonShape hull;
  hull.Set(kHull, 4);
  b2FixtureDef hull_fixture;
  hull_fixture.shape = &hull;
  hull_fixture.density = 1;
  hull_fixture.friction = 0.5f;
  hull_fixture.userData.pointer = kHullTag;
  craft_->CreateFixture(&hull_fixture);
  for (int side = 0; side < 2; ++side) {
    b2Vec2 v[4];
    for (int i = 0; i < 4; ++i) v[i].Set(side == 0 ? kLeftLeg[i].x : -kLeftLeg[i].x, kLeftLeg[i].y);
    b2PolygonShape leg;
    leg.Set(v, 4);
    b2FixtureDef leg_fixture;
    leg_fixture.shape = &leg;
    leg_fixture.density = 1;
    leg_fixture.friction = 1.0f;
    leg_fixture.userData.pointer = kLegTag + side;
    craft_->CreateFixture(&leg_fixture);
  }
  legs_[0] = legs_[1] = false;
  status_ = LanderStatus::kFlying;
  throttle_ = lateral_ = 0;
}

void LanderEnv::update_contacts() {
  bool legs[2] = {false, false};
  hull_hit_ = wall_hit_ = false;
  for (const b2ContactEdge* e = craft_->GetContactList(); e; e = e->next) {
    const b2Contact* contact = e->contact;
    if (!contact->IsTouching()) continue;
    const b2Fixture* a = contact->GetFixtureA();
    const b2Fixture* b = contact->GetFixtureB();
    const b2Fixture* mine = a->GetBody() == craft_ ? a : b;
    const b2Fixture* other = mine == a ? b : a;
    const uintptr_t part = tag_of(mine);
    if (tag_of(other) == kWallTag)
      wall_hit_ = true;
    else if (part == kHullTag)
      hull_hit_ = true;
    else
      legs[part - kLegTag] = true;
  }
  legs_[0] = legs[0];
  legs_[1] = legs[1];
}

StepResult LanderEnv::on_step(const Action& a) {
  const LanderConfig& c = config_;
  if (a.index >= 0) {
    throttle_ = kDiscrete[a.index][0];
    lateral_ = kDiscrete[a.index][1];
  } else {
    throttle_ = a.value[0];
    lateral_ = a.value[1];
  }
  // Box2D turns bodies about their centre of mass; GetInertia() is about the body's origin.
  const b2Vec2 centre = craft_->GetLocalCenter();
  const float mass = craft_->GetMass();
  const float inertia = craft_->GetInertia() - mass * b2Dot(centre, centre);
  const float thrust = throttle_ * static_cast<float>(c.main_accel) * main_gain() * mass;
  // Positive lateral turns the craft clockwise: a negative torque.
  const float torque =
      (external_spin() - lateral_ * static_cast<float>(c.side_accel) * side_gain()) * inertia;
  for (int s = 0; s < c.step.sub_steps && status_ == LanderStatus::kFlying; ++s) {
    const b2Vec2 p = craft_->GetPosition(), v = craft_->GetLinearVelocity();
    // Gravity is the world's; the modules' part of the external acceleration is added here.
    b2Vec2 extra = external_accel(p, v);
    extra.y += static_cast<float>(c.gravity);
    const b2Vec2 force = mass * extra + thrust * craft_->GetWorldVector({0, 1});
    craft_->ApplyForceToCenter(force, /*wake=*/true);
    craft_->ApplyTorque(torque, /*wake=*/true);
    const bool were_down = legs_[0] || legs_[1];
    const float speed_before = v.Length();
    step_world(*world_, c.step);
    update_contacts();
    const bool down = legs_[0] || legs_[1];
    const float tilt = std::abs(wrapped_angle(*craft_));
    if (wall_hit_) {
      status_ = LanderStatus::kCrashedWall;
    } else if (hull_hit_) {
      status_ = LanderStatus::kCrashedHull;
    } else if (down && !were_down && speed_before > c.crash_speed) {
      status_ = LanderStatus::kCrashedFast;
    } else if (down && tilt > c.crash_angle) {
      status_ = LanderStatus::kCrashedTilted;
    } else if (legs_[0] && legs_[1] && craft_->GetLinearVelocity().Length() < c.rest_speed) {
      const bool on_pad = std::abs(craft_->GetPosition().x - pads_[target_]) <= c.pad_width / 2;
      status_ = on_pad ? LanderStatus::kLanded : LanderStatus::kOffPad;
    }
  }
  StepResult r;
  if (status_ != LanderStatus::kFlying) {
    r.terminated = true;
    r.end = status_ == LanderStatus::kLanded ? EndReason::kSolved : EndReason::kFailed;
    r.reward = status_ == LanderStatus::kLanded ? 1.0f : 0.0f;
  }
  return r;
}

float LanderEnv::clearance() const {
  float lowest = INFINITY;
  for (const b2Vec2& foot : kFeet) lowest = std::min(lowest, craft_->GetWorldPoint(foot).y);
  return lowest - b2_polygonRadius;
}

void LanderEnv::observe(std::span<float> out) const {
  const b2Vec2 p = craft_->GetPosition(), v = craft_->GetLinearVelocity();
  out[0] = p.x / kObsLength, out[1] = p.y / kObsLength;
  out[2] = v.x / kObsSpeed, out[3] = v.y / kObsSpeed;
  out[4] = wrapped_angle(*craft_);
  out[5] = craft_->GetAngularVelocity();
  out[6] = legs_[0] ? 1.0f : 0.0f;
  out[7] = legs_[1] ? 1.0f : 0.0f;
  out[8] = (pads_[target_] - p.x) / kObsLength;
  const int n = config_.num_pads;
  for (int i = 0; i < n; ++i) {
    out[9 + i] = pads_[i] / kObsLength;
    out[9 + n + i] = i == target_ ? 1.0f : 0.0f;
  }
}

Scene LanderEnv::scene() const {
  const LanderConfig& c = config_;
  Scene s;
  s.min = {-kHalfWidth, -0.5f};
  s.max = {kHalfWidth, kCeiling};
  s.y_up = true;
  s.fps = static_cast<float>(1.0 / c.step.env_dt());
  s.rect(-kHalfWidth, -0.5f, kHalfWidth, 0, {120, 110, 100}, '=');
  const auto w = static_cast<float>(c.pad_width);
  for (int i = 0; i < c.num_pads; ++i) {
    const float x = pads_[i];
    s.rect(x - w / 2, -0.5f, x + w / 2, 0.05f,
           i == target_ ? Color{0, 158, 115} : Color{170, 170, 170}, i == target_ ? '#' : '-');
    if (i == target_) {  // a flag on the target pad
      s.line({{x, 0}, {x, 1.2f}}, 0.05f, {40, 40, 40});
      s.polygon({{x, 1.2f}, {x + 0.6f, 1.0f}, {x, 0.8f}}, {0, 158, 115});
    }
  }
  for (const b2Body* b = world_->GetBodyList(); b; b = b->GetNext())
    if (b->GetType() == b2_staticBody) draw_body(s, *b, {60, 60, 60}, 0);
  // The active modules as arrows along the top: wind and shear to the side, pull to its point.
  if (strength(LanderModule::kWindEast) > 0)
    s.line({{-9, 13}, {-7.5f, 13}}, 0.08f, palette_color(1));
  if (strength(LanderModule::kShearWest) > 0)
    s.line({{-5, 13}, {-6.5f, 13}}, 0.08f, palette_color(5));
  if (strength(LanderModule::kPull) > 0) s.marker(7, kPullX, kPullY, 0.3f, palette_color(6));
  // Exhaust of the last action: a flame under the hull, puffs at the sides.
  const b2Vec2 p = craft_->GetPosition();
  if (throttle_ > 0) {
    const b2Vec2 a = craft_->GetWorldPoint({-0.2f, -0.25f}),
                 b = craft_->GetWorldPoint({0.2f, -0.25f});
    const b2Vec2 tip = craft_->GetWorldPoint({0, -0.25f - 1.2f * throttle_});
    s.polygon({{a.x, a.y}, {b.x, b.y}, {tip.x, tip.y}}, {230, 159, 0}, '*');
  }
  if (lateral_ != 0) {
    // Clockwise turns fire the puff on the left of the top and on the right of the bottom.
    const float side = lateral_ > 0 ? -1.0f : 1.0f;
    const b2Vec2 top = craft_->GetWorldPoint({side * 0.45f, 0.3f});
    s.circle(top.x, top.y, 0.15f * std::abs(lateral_) + 0.05f, {200, 200, 200});
  }
  const LanderStatus st = status_;
  const Color hull = st == LanderStatus::kFlying || st == LanderStatus::kLanded
                         ? Color{250, 250, 250}
                         : Color{213, 94, 0};
  draw_body(s, *craft_, hull, '@');
  const b2Vec2 v = craft_->GetLinearVelocity();
  s.line({{p.x, p.y}, {p.x + 0.5f * v.x, p.y + 0.5f * v.y}}, 0.05f, {60, 60, 60});
  std::string modules;
  for (const LanderModule m : bank_)
    if (strength(m) > 0) modules += (modules.empty() ? "" : "+") + std::string(module_name(m));
  s.caption = fmt::format(
      "{} ({}) | step {} | craft ({:+.2f}, {:.2f}) v ({:+.2f}, {:+.2f}) angle {:+.2f} spin "
      "{:+.2f} | feet {:.2f} m up, legs {}{} | target pad {} at x = {:+.2f} ({:+.2f} away) | "
      "{}",
      task_space().describe(task()), modules.empty() ? "none" : modules, elapsed(), p.x, p.y, v.x,
      v.y, wrapped_angle(*craft_), craft_->GetAngularVelocity(), std::max(0.0f, clearance()),
      legs_[0] ? 'L' : '-', legs_[1] ? 'R' : '-', target_, pads_[target_], pads_[target_] - p.x,
      status_name(status_));
  return s;
}

nlohmann::json LanderEnv::describe() const {
  nlohmann::json modules = nlohmann::json::array();
  for (const LanderModule m : bank_)
    if (strength(m) > 0) modules.push_back(module_name(m));
  const b2Vec2 p = craft_->GetPosition(), v = craft_->GetLinearVelocity();
  const b2Vec2 ext = external_accel(p, v);
  return {{"craft", describe_body(*craft_)},
          {"legs", {legs_[0], legs_[1]}},
          {"clearance", clearance()},
          {"pads", pads_},
          {"target", target_},
          {"modules", modules},
          {"external_accel", {ext.x, ext.y}},
          {"external_spin", external_spin()},
          {"main_gain", main_gain()},
          {"side_gain", side_gain()},
          {"action", {throttle_, lateral_}},
          {"status", status_name(status_)}};
}

LanderExpert::Request LanderExpert::request(const LanderEnv& e) {
  const LanderConfig& c = e.config();
  constexpr float kGlide = 0.6f;        // 1/s: descent speed per metre of clearance
  constexpr float kTouchdown = 0.5f;    // m/s: the least descent speed, held to the ground
  constexpr float kDescent = 2.5f;      // m/s: the most
  constexpr float kCruise = 4.0f;       // m: clearance held while far from the pad
  constexpr float kReach = 0.6f;        // 1/s: horizontal speed per metre from the pad
  constexpr float kTravel = 3.0f;       // m/s: the most horizontal speed
  constexpr float kSideGain = 1.5f;     // 1/s: horizontal velocity tracking
  constexpr float kClimbGain = 2.0f;    // 1/s: vertical velocity tracking
  constexpr float kTiltMax = 0.5f;      // rad
  constexpr float kTiltGain = 16.0f;    // rad/s^2 per rad
  constexpr float kTiltDamping = 8.0f;  // rad/s^2 per rad/s

  const b2Body& craft = e.craft();
  const b2Vec2 p = craft.GetPosition(), v = craft.GetLinearVelocity();
  const float angle = wrapped_angle(craft), spin = craft.GetAngularVelocity();
  const float ex = e.pad_x(e.target()) - p.x;
  const float h = std::max(0.0f, e.clearance());

  const float vx = std::clamp(kReach * ex, -kTravel, kTravel);
  // Descend over the pad, hold a cruising height while far from it, blend in between.
  const float over = std::clamp(1.5f - std::abs(ex) / 2, 0.0f, 1.0f);
  const float descend = -std::clamp(kGlide * h, kTouchdown, kDescent);
  const float hold = std::clamp(0.8f * (kCruise - h), -kDescent, kDescent);
  const float vy = over * descend + (1 - over) * hold;
  Request q;
  const b2Vec2 want(kSideGain * (vx - v.x), kClimbGain * (vy - v.y));
  // What the engine must add to gravity and the modules; it can only push along the craft.
  const b2Vec2 ext = e.external_accel(p, v);
  b2Vec2 f = want - ext;
  f.y = std::max(f.y, 0.2f * static_cast<float>(c.gravity));
  // Near the ground the craft comes upright, but no more than holding against a steady side
  // force allows.
  const float steady = std::abs(std::atan2(ext.x, -ext.y));
  const float tilt_max = std::min(kTiltMax, std::max(0.1f + 0.3f * h, steady + 0.05f));
  const bool down = e.leg_down(0) || e.leg_down(1);
  const float target = down ? 0.0f : std::clamp(std::atan2(-f.x, f.y), -tilt_max, tilt_max);
  const b2Vec2 up(-std::sin(angle), std::cos(angle));
  q.accel = down ? b2Vec2(0, 0) : std::max(0.0f, b2Dot(f, up)) * up;
  q.spin = kTiltGain * (target - angle) - kTiltDamping * spin - e.external_spin();
  q.tilt = target;
  q.climb = vy;
  q.side = want.x;
  q.main = std::clamp(b2Dot(q.accel, up) / (static_cast<float>(c.main_accel) * e.main_gain()), 0.0f,
                      1.0f);
  q.lateral = std::clamp(-q.spin / (static_cast<float>(c.side_accel) * e.side_gain()), -1.0f, 1.0f);
  return q;
}

Action LanderExpert::act(const Env& env, std::span<float>) const {
  const auto& e = env_cast<LanderEnv>(env, "the lander expert");
  const Request q = request(e);
  if (!e.action_spec().discrete) {
    const float u[2] = {q.main, q.lateral};
    return Action::continuous(u);
  }
  // One engine at a time, chosen for the velocities it leaves after one step: the linear
  // velocity against the glide path (vertically at once, sideways at the continuous controller's
  // pace), the turn rate against the one that leads to the wanted tilt.
  const LanderConfig& c = e.config();
  constexpr float kTurnRate = 8.0f;    // rad/s per rad of tilt error
  constexpr float kTurnMax = 1.5f;     // rad/s
  constexpr float kSpinWeight = 1.0f;  // (m/s)^2 per (rad/s)^2
  const float h = static_cast<float>(c.step.env_dt());
  const b2Body& craft = e.craft();
  const float angle = wrapped_angle(craft);
  const b2Vec2 p = craft.GetPosition(), v = craft.GetLinearVelocity();
  const b2Vec2 up(-std::sin(angle), std::cos(angle));
  const float main = static_cast<float>(c.main_accel) * e.main_gain();
  const float side = static_cast<float>(c.side_accel) * e.side_gain();
  const bool down = e.leg_down(0) || e.leg_down(1);
  const b2Vec2 drift = v + h * e.external_accel(p, v);  // the velocity after a step unpowered
  const b2Vec2 goal(v.x + h * q.side, q.climb);
  const float turn = std::clamp(kTurnRate * (q.tilt - angle), -kTurnMax, kTurnMax);
  const float coast = craft.GetAngularVelocity() + h * e.external_spin();
  int best = 0;
  float best_cost = INFINITY;
  for (int a = 0; a < 4; ++a) {
    if (down && a == 1) continue;
    const b2Vec2 miss = drift + (h * kDiscrete[a][0] * main) * up - goal;
    const float turning = coast - h * kDiscrete[a][1] * side - turn;
    const float cost = miss.LengthSquared() + kSpinWeight * turning * turning;
    if (cost < best_cost) best_cost = cost, best = a;
  }
  return Action::discrete(best);
}

}  // namespace hc::envs::physics
