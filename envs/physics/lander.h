// lander: land a craft on the marked pad under a hidden combination of force modules whose
// effects add -- a Box2D family with k-hot tasks, so OOD by hotness and identification apply.
//
// Description   A side view of a walled valley 2 x 10 m wide and 14 m high with gravity. A craft
//               with a main engine and a pair of side thrusters starts high up and must land
//               upright and slowly on the target pad, one of num_pads pads drawn per episode
//               and marked in the observation. A hidden combination of force modules pushes,
//               pulls, spins or weakens it.
// Modules       A bank of M modules (default all 8: wind_east, shear_west, pull, ballast,
//               weak_main, inverted_sides, drag, spin); a task is a k-hot combination of them
//               (1..M active, num_hot = 3 at most in training) whose forces and torques add.
//               255 tasks by default; OOD by hotness are the combinations of 4..8 modules.
// Observation   9 + 2 x num_pads floats, lengths in units of 10 m and speeds of 5 m/s: x in
//               [-1, 1], y in [0, 1.4]; vx, vy (unbounded); angle in [-pi, pi] (counter-
//               clockwise); angular velocity in rad/s (unbounded); left and right leg contact in
//               {0, 1}; target pad's centre x minus the craft's x in [-2, 2]; every pad's centre
//               x in [-1, 1]; every pad's target flag in {0, 1}.
// Actions       continuous: (main, lateral) in [0, 1] x [-1, 1]: main throttle, and the side
//               thrusters' torque (positive turns the craft clockwise, to the right);
//               discrete: nothing, main, left, right (one engine at full power).
// Dynamics      Box2D, gravity; dt seconds per Box2D step, sub_steps steps per environment step
//               with the action held. Module forces are applied at every Box2D step.
// Reward        1 on landing on the target pad; 0 otherwise.
// Termination   landed: both legs on the ground at rest (success on the target pad, failed
//               elsewhere); failed: a crash (the hull touches anything, a leg touches down
//               faster than crash_speed or tilted beyond crash_angle, any part hits a wall or
//               the ceiling); truncated after max_steps.
// Expert        a cascade controller that knows the active modules: it adds their forces to
//               gravity, asks the main engine for the acceleration that tracks a glide path to
//               the pad minus that sum, tilts the craft to point the engine there and holds
//               the tilt with the side thrusters (cancelling spin, reversing inverted ones);
//               the discrete expert picks the engine whose effect is closest to that request.
//               Scripted, so its success rate is checked (>= 98%).
// Splits        random, non_compositional, k_hot, connected, disconnected; OOD by hotness.
#pragma once

#include <box2d/box2d.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "base/config.h"
#include "envs/core/env_family.h"
#include "envs/physics/physics.h"

namespace hc::envs::physics {

// The bank of force modules, in the order of their default list.
enum class LanderModule {
  kWindEast,       // a steady wind: `wind` m/s^2 eastward
  kShearWest,      // a westward wind growing with height: `shear` m/s^2 at the ceiling, 0 below
  kPull,           // attraction to a point 4 m above the valley's centre: `pull` (m/s^2)/m
  kBallast,        // extra weight: `ballast` m/s^2 downward
  kWeakMain,       // the main engine loses `weak_main` of its thrust
  kInvertedSides,  // the side thrusters turn the craft the other way
  kDrag,           // air drag: `drag` (m/s^2)/(m/s) against the velocity
  kSpin,           // a steady torque: `spin` rad/s^2 counter-clockwise
};
inline constexpr int kLanderModules = 8;
const char* module_name(LanderModule m);

struct LanderConfig {
  tasks::SplitConfig split;
  ActionKind actions = ActionKind::kContinuous;
  std::vector<std::string> modules = {"wind_east", "shear_west",     "pull", "ballast",
                                      "weak_main", "inverted_sides", "drag", "spin"};
  int num_hot = 3;
  int num_pads = 3;
  double pad_width = 2.0;    // m
  double gravity = 5.0;      // m/s^2
  double main_accel = 18.0;  // acceleration of the main engine at full throttle (m/s^2)
  double side_accel = 10.0;  // angular acceleration of the side thrusters at full power (rad/s^2)
  double wind = 0.8;         // m/s^2
  double shear = 1.5;        // m/s^2 at the ceiling
  double pull = 0.06;        // m/s^2 per metre from the point
  double ballast = 1.0;      // m/s^2
  double weak_main = 0.3;    // share of the main engine's thrust lost
  double drag = 0.3;         // 1/s
  double spin = 1.0;         // rad/s^2
  double crash_speed = 2.0;  // touching down faster than this is a crash (m/s)
  double crash_angle = 0.5;  // touching down tilted beyond this is a crash (rad)
  double rest_speed = 0.1;   // below this speed on both legs the craft has landed (m/s)
  StepConfig step;
  int max_steps = 250;
  double discount = 0.99;
  DemoConfig demos{.support_demos = 2, .query_demos = 2};

  template <class V>
  void fields(V& v) {
    split.fields(v, tasks::kAllSupports);
    v("actions", actions,
      "action space: continuous (main throttle, lateral) or discrete "
      "(nothing, main, left, right)");
    v("modules", modules,
      "the bank of force modules tasks combine (wind_east, shear_west, pull, "
      "ballast, weak_main, inverted_sides, drag, spin)");
    v("num_hot", num_hot, "most modules combined in a training task", in_range(1, kLanderModules));
    v("num_pads", num_pads, "landing pads per episode (one is the target)", in_range(1, 6));
    v("pad_width", pad_width, "width of a pad, in metres", in_range(0.5, 4.0));
    v("gravity", gravity, "gravity, in m/s^2", in_range(0.1, 50.0));
    v("main_accel", main_accel, "main engine's acceleration at full throttle, in m/s^2",
      in_range(0.1, 200.0));
    v("side_accel", side_accel, "side thrusters' angular acceleration at full power, in rad/s^2",
      in_range(0.1, 200.0));
    v("wind", wind, "wind_east: eastward acceleration, in m/s^2", in_range(0.0, 50.0));
    v("shear", shear,
      "shear_west: westward acceleration at the ceiling (0 at the ground), in m/s^2",
      in_range(0.0, 50.0));
    v("pull", pull, "pull: acceleration towards the point (0, 4) per metre away, in 1/s^2",
      in_range(0.0, 10.0));
    v("ballast", ballast, "ballast: extra downward acceleration, in m/s^2", in_range(0.0, 50.0));
    v("weak_main", weak_main, "weak_main: share of the main engine's thrust lost",
      in_range(0.0, 0.9));
    v("drag", drag, "drag: deceleration per unit of velocity, per second", in_range(0.0, 10.0));
    v("spin", spin, "spin: counter-clockwise angular acceleration, in rad/s^2",
      in_range(0.0, 100.0));
    v("crash_speed", crash_speed, "touching down faster than this is a crash, in m/s",
      in_range(0.1, 50.0));
    v("crash_angle", crash_angle, "touching down tilted beyond this is a crash, in radians",
      in_range(0.05, 1.5));
    v("rest_speed", rest_speed, "on both legs below this speed the craft has landed, in m/s",
      in_range(0.001, 5.0));
    step.fields(v);
    v("max_steps", max_steps, "time limit of an episode in steps", in_range(1, 100000));
    v("discount", discount, "discount of returns", in_range(0.01, 1.0));
    demos.fields(v);
  }
  void validate(const ConfigReader& r) const;
};

// How an episode of the lander stands.
enum class LanderStatus {
  kFlying,
  kLanded,
  kOffPad,
  kCrashedHull,
  kCrashedFast,
  kCrashedTilted,
  kCrashedWall
};
const char* status_name(LanderStatus s);

class LanderEnv : public Env {
 public:
  // `config` and `bank` are the family's, which outlives its environments.
  LanderEnv(const EnvFamily& family, const LanderConfig& config,
            const std::vector<LanderModule>& bank);

  void observe(std::span<float> out) const override;
  Scene scene() const override;
  nlohmann::json describe() const override;

  // What the expert knows: the strength of every module of the bank in this task (0: inactive)
  // and what they add up to.
  const std::vector<LanderModule>& bank() const { return bank_; }
  float strength(LanderModule m) const { return strength_[static_cast<int>(m)]; }
  // Every module's strength (indexed by LanderModule), and setting them for what follows: the
  // family's subroutines ask what the expert would do in the same state without the modules.
  std::array<float, kLanderModules> strengths() const;
  void set_strengths(const std::array<float, kLanderModules>& s);
  float main_gain() const;  // the main engine's share of its nominal thrust
  float side_gain() const;  // 1, or -1 with inverted side thrusters
  // Acceleration (m/s^2) of gravity and every active module at a position and velocity.
  b2Vec2 external_accel(b2Vec2 position, b2Vec2 velocity) const;
  float external_spin() const;  // rad/s^2

  const b2Body& craft() const { return *craft_; }
  bool leg_down(int i) const { return legs_[i]; }
  float pad_x(int i) const { return pads_[i]; }
  int target() const { return target_; }
  LanderStatus status() const { return status_; }
  const LanderConfig& config() const { return config_; }
  // Height of the feet above the ground (m), whatever the craft's tilt.
  float clearance() const;

 protected:
  void on_reset(Rng& rng, const Task& task) override;
  StepResult on_step(const Action& a) override;

 private:
  void update_contacts();

  const LanderConfig& config_;
  const std::vector<LanderModule>& bank_;
  float strength_[kLanderModules] = {};
  std::vector<float> pads_;
  int target_ = 0;
  std::unique_ptr<b2World> world_;
  b2Body* craft_ = nullptr;
  bool legs_[2] = {false, false};
  bool hull_hit_ = false;  // after the last Box2D step: the hull touches something
  bool wall_hit_ = false;  // ... any part touches a wall or the ceiling
  LanderStatus status_ = LanderStatus::kFlying;
  float throttle_ = 0, lateral_ = 0;  // the last action, for drawing
};

class LanderExpert : public Expert {
 public:
  Action act(const Env& env, std::span<float> values) const override;
  // What the controller asks for: the linear acceleration (m/s^2) of the main engine and the
  // angular acceleration (rad/s^2) of the side thrusters, and the (main, lateral) action that
  // produces them.
  struct Request {
    b2Vec2 accel;    // m/s^2, along the craft
    float spin = 0;  // rad/s^2
    float main = 0, lateral = 0;
    float tilt = 0;   // the wanted angle (rad)
    float climb = 0;  // the wanted vertical velocity (m/s)
    float side = 0;   // the wanted horizontal acceleration (m/s^2)
  };
  static Request request(const LanderEnv& env);
};

class LanderFamily : public EnvFamily {
 public:
  static constexpr const char* kName = "lander";
  static constexpr const char* kSummary =
      "Box2D: land a craft on a marked pad under a hidden k-hot combination of force modules";
  using Config = LanderConfig;
  explicit LanderFamily(const Config& config);

  std::unique_ptr<Env> make_env() const override;
  std::unique_ptr<Expert> make_expert() const override;
  // One per force module: landing under that module alone, as the hyperteacher's module_m,
  // scored on the steps where the module changes the expert's action (module_steps).
  std::vector<tasks::Subroutine> subroutines() const override;
  // The force modules of the family's task space, in its order.
  const std::vector<LanderModule>& bank() const { return bank_; }
  // 1 for each query row of an instance (made from `seed`) where the expert's action with the
  // task's modules differs from its action in the same state without them by more than the
  // action tolerance: the steps where what the policy must infer matters. Most of a landing
  // (the final descent, holding height far from the pad) is the same under every module.
  std::vector<uint8_t> module_steps(const tasks::TaskData& data, uint64_t seed) const;
  double discount() const override { return config_.discount; }
  double expert_success_threshold() const override { return 0.98; }
  // A tenth of the lateral range, a fifth of the throttle's.
  double action_tolerance() const override { return 0.2; }

 protected:
  YAML::Node config_fields() const override { return write_config(config_); }

 private:
  Config config_;
  std::vector<LanderModule> bank_;
};

}  // namespace hc::envs::physics
