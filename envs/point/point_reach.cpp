#include "envs/point/point_reach.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hc::envs::point {
namespace {

constexpr const char* kDrifts[] = {"calm", "north", "east", "south", "west"};
constexpr float kDriftDirection[][2] = {{0, 0}, {0, 1}, {1, 0}, {0, -1}, {-1, 0}};
constexpr float kSpread = 0.85f;   // goals and starts lie in [-kSpread, kSpread]^2
constexpr float kApart = 0.5f;     // least distance between goals, and from the start to the goal

TaskSpace make_space(const PointReachConfig& c) {
  std::vector<std::string> goals;
  for (int i = 0; i < c.num_goals; ++i) goals.push_back(std::to_string(i));
  return TaskSpace::categorical({{"goal", goals},
                                 {"drift", {kDrifts, kDrifts + 5}},
                                 {"actuator", {"normal", "weak"}}});
}

ObservationSpec make_obs_spec(const PointReachConfig& c) {
  std::vector<std::string> names = {"x", "y", "vx", "vy"};
  std::vector<float> low = {-1, -1, -INFINITY, -INFINITY}, high = {1, 1, INFINITY, INFINITY};
  for (int i = 0; i < c.num_goals; ++i) {
    names.push_back(fmt::format("goal{}_x", i));
    names.push_back(fmt::format("goal{}_y", i));
    low.insert(low.end(), {-1, -1});
    high.insert(high.end(), {1, 1});
  }
  return ObservationSpec::vector(std::move(names), std::move(low), std::move(high));
}

ActionSpec make_act_spec() { return ActionSpec::box({"fx", "fy"}, {-1, -1}, {1, 1}); }

}  // namespace

void PointReachConfig::validate(const ConfigReader& r) const {
  // Goals must fit apart from each other in the square they are drawn from.
  if (num_goals > 8) r.fail_value("num_goals", "at most 8", std::to_string(num_goals));
  // The actuator must be able to beat the drift, or some tasks cannot be solved.
  if (weak_gain * force_scale <= drift)
    r.fail_value("drift",
                 fmt::format("less than weak_gain x force_scale = {} (else the weak actuator "
                             "cannot hold against it)",
                             weak_gain * force_scale),
                 shortest(drift));
}

PointReachFamily::PointReachFamily(const Config& c)
    : EnvFamily(kName, make_space(c), c.split.spec(), c.split.seed, /*continuous_weights=*/false,
                c.demos, make_obs_spec(c), make_act_spec()),
      config_(c) {}

std::unique_ptr<Env> PointReachFamily::make_env() const {
  return std::make_unique<PointReachEnv>(*this, config_);
}

std::unique_ptr<Expert> PointReachFamily::make_expert() const {
  return std::make_unique<PointReachExpert>();
}

PointReachEnv::PointReachEnv(const EnvFamily& family, const PointReachConfig& config)
    : Env(family, config.max_steps), config_(config) {}

void PointReachEnv::on_reset(Rng& rng, const Task& task) {
  goal_ = task.values[0];
  drift_[0] = static_cast<float>(config_.drift) * kDriftDirection[task.values[1]][0];
  drift_[1] = static_cast<float>(config_.drift) * kDriftDirection[task.values[1]][1];
  gain_ = task.values[2] == 0 ? 1.0f : static_cast<float>(config_.weak_gain);
  const auto draw = [&] { return static_cast<float>(rng.uniform(-kSpread, kSpread)); };
  const auto far = [](const float* a, const float* b) {
    return std::hypot(a[0] - b[0], a[1] - b[1]) >= kApart;
  };
  // Rejection sampling: at most 8 goals 0.5 apart fill well under half of what random placement
  // can pack into the square, so a placement seldom needs many draws; a stuck one starts over.
  goals_.assign(2 * static_cast<size_t>(config_.num_goals), 0.0f);
  for (int i = 0, tries = 0; i < config_.num_goals; ++tries) {
    if (tries == 1000) i = tries = 0;
    float* g = goals_.data() + 2 * i;
    g[0] = draw(), g[1] = draw();
    bool apart = true;
    for (int j = 0; j < i; ++j) apart = apart && far(g, goals_.data() + 2 * j);
    if (apart) ++i;
  }
  do {
    pos_[0] = draw(), pos_[1] = draw();
  } while (!far(pos_, goals_.data() + 2 * goal_));
  vel_[0] = vel_[1] = 0.0f;
}

StepResult PointReachEnv::on_step(const Action& a) {
  const float dt = static_cast<float>(config_.dt), scale = gain_ * static_cast<float>(config_.force_scale);
  const float damping = static_cast<float>(config_.damping);
  for (int k = 0; k < 2; ++k) {
    vel_[k] += dt * (scale * a.value[k] + drift_[k] - damping * vel_[k]);
    pos_[k] += dt * vel_[k];
    if (pos_[k] > 1.0f || pos_[k] < -1.0f) {  // the wall stops the mass
      pos_[k] = std::clamp(pos_[k], -1.0f, 1.0f);
      vel_[k] = 0.0f;
    }
  }
  StepResult r;
  const float* g = goals_.data() + 2 * goal_;
  if (std::hypot(pos_[0] - g[0], pos_[1] - g[1]) <= config_.goal_radius &&
      std::hypot(vel_[0], vel_[1]) <= config_.stop_speed) {
    r.reward = 1.0f;
    r.terminated = true;
    r.end = EndReason::kSolved;
  }
  return r;
}

void PointReachEnv::observe(std::span<float> out) const {
  out[0] = pos_[0], out[1] = pos_[1], out[2] = vel_[0], out[3] = vel_[1];
  std::copy(goals_.begin(), goals_.end(), out.begin() + 4);
}

Scene PointReachEnv::scene() const {
  Scene s;
  s.min = {-1, -1};
  s.max = {1, 1};
  s.y_up = true;
  s.fps = static_cast<float>(1.0 / config_.dt);
  const float r = static_cast<float>(config_.goal_radius);
  for (int i = 0; i < config_.num_goals; ++i) {
    const float x = goals_[2 * i], y = goals_[2 * i + 1];
    if (i == goal_) s.circle(x, y, r * 1.6f, {30, 30, 30});  // the task's goal has a ring
    s.marker(i, x, y, r, palette_color(i), static_cast<char>('0' + i));
    s.shapes.back().label = std::to_string(i);
  }
  // The drift, as an arrow from the centre of the world.
  if (drift_[0] != 0 || drift_[1] != 0) {
    const float dx = drift_[0] / static_cast<float>(config_.drift) * 0.25f;
    const float dy = drift_[1] / static_cast<float>(config_.drift) * 0.25f;
    s.line({{0, 0}, {dx, dy}}, 0.015f, {120, 120, 200});
    s.circle(dx, dy, 0.03f, {120, 120, 200});
  }
  s.line({{pos_[0], pos_[1]}, {pos_[0] + 0.2f * vel_[0], pos_[1] + 0.2f * vel_[1]}}, 0.012f,
         {60, 60, 60});
  s.circle(pos_[0], pos_[1], 0.05f, {250, 250, 250}, '@');
  s.circle(pos_[0], pos_[1], 0.025f, {20, 20, 20});
  s.caption = fmt::format("{} | step {} | at ({:+.2f}, {:+.2f}) moving ({:+.2f}, {:+.2f})",
                          task_space().describe(task()), elapsed(), pos_[0], pos_[1], vel_[0],
                          vel_[1]);
  return s;
}

nlohmann::json PointReachEnv::describe() const {
  nlohmann::json goals = nlohmann::json::array();
  for (int i = 0; i < config_.num_goals; ++i) goals.push_back({goals_[2 * i], goals_[2 * i + 1]});
  return {{"position", {pos_[0], pos_[1]}},
          {"velocity", {vel_[0], vel_[1]}},
          {"goals", goals},
          {"goal", goal_},
          {"drift", {drift_[0], drift_[1]}},
          {"gain", gain_}};
}

Action PointReachExpert::act(const Env& env, std::span<float>) const {
  const auto& e = env_cast<PointReachEnv>(env, "the point_reach expert");
  const PointReachConfig& c = e.config();
  // A critically damped approach (natural frequency kOmega), then the force that produces the
  // wanted acceleration: cancel damping and drift, divide by the actuator's strength.
  constexpr float kOmega = 3.0f;
  const float* x = e.position();
  const float* v = e.velocity();
  const float* g = e.goals().data() + 2 * e.goal();
  const float scale = e.gain() * static_cast<float>(c.force_scale);
  float u[2];
  for (int k = 0; k < 2; ++k) {
    const float want = kOmega * kOmega * (g[k] - x[k]) - 2 * kOmega * v[k];
    u[k] = std::clamp((want + static_cast<float>(c.damping) * v[k] - e.drift()[k]) / scale, -1.0f,
                      1.0f);
  }
  return Action::continuous(u);
}

}  // namespace hc::envs::point
