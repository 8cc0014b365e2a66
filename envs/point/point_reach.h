// point_reach: steer a point mass to one of several goals under hidden dynamics -- the smallest
// family with continuous actions, and the example of docs/adding-an-environment.md.
//
// Description   A point mass on the square [-1, 1]^2 with a few goals scattered at random each
//               episode. Which goal counts, a steady drift and the strength of the actuator are
//               hidden: a learner infers them from the support demonstrations.
// Factors       goal (which of num_goals, by index) x drift (calm, north, east, south, west) x
//               actuator (normal, weak): 4 x 5 x 2 = 40 tasks by default.
// Observation   4 + 2 x num_goals floats: position x, y in [-1, 1]; velocity vx, vy (unbounded);
//               then every goal's x, y in [-1, 1]; the task's goal is not marked.
// Actions       a force (fx, fy) in [-1, 1]^2, scaled by force_scale and the actuator's gain.
// Dynamics      per step of dt seconds: v += dt (gain force_scale a + drift - damping v),
//               x += dt v; the walls stop the mass (the velocity into a wall is zeroed).
// Reward        1 on reaching the task's goal (within goal_radius, slower than stop_speed).
// Termination   on reaching the goal (solved); truncated after max_steps.
// Expert        a proportional-derivative controller towards the goal that cancels the drift and
//               divides by the actuator's gain (it knows the hidden factors); scripted, so its
//               success rate is checked (>= 98%) instead of optimality.
// Splits        random (frac_ood 0.25) or non_compositional (the last goal index never trained).
#pragma once

#include <memory>
#include <vector>

#include "base/config.h"
#include "envs/core/env_family.h"

namespace hc::envs::point {

struct PointReachConfig {
  tasks::SplitConfig split;
  int num_goals = 4;
  double drift = 0.4;        // strength of a drift (force units)
  double weak_gain = 0.5;    // gain of the weak actuator (the normal one has gain 1)
  double force_scale = 2.0;  // force of a unit action at gain 1
  double damping = 0.5;      // velocity damping (1/s)
  double dt = 0.1;           // seconds per step
  double goal_radius = 0.1;  // distance that counts as reaching the goal
  double stop_speed = 0.5;   // speed below which the goal counts as reached
  int max_steps = 60;
  double discount = 0.99;
  DemoConfig demos{.support_demos = 2, .query_demos = 2};

  template <class V>
  void fields(V& v) {
    split.fields(v, {tasks::Support::kRandom, tasks::Support::kNonCompositional});
    v("num_goals", num_goals, "goals scattered per episode (values of the goal factor)",
      in_range(2, 8));
    v("drift", drift, "strength of a drift, in force units", in_range(0.0, 10.0));
    v("weak_gain", weak_gain, "gain of the weak actuator (the normal one has gain 1)",
      in_range(0.05, 1.0));
    v("force_scale", force_scale, "force of a unit action at gain 1", in_range(0.01, 100.0));
    v("damping", damping, "velocity damping per second", in_range(0.0, 100.0));
    v("dt", dt, "seconds per step", in_range(1e-4, 1.0));
    v("goal_radius", goal_radius, "distance to the goal that counts as reaching it",
      in_range(0.01, 1.0));
    v("stop_speed", stop_speed, "speed below which the goal counts as reached",
      in_range(0.01, 100.0));
    v("max_steps", max_steps, "time limit of an episode in steps", in_range(1, 100000));
    v("discount", discount, "discount of returns", in_range(0.01, 1.0));
    demos.fields(v);
  }
  void validate(const ConfigReader& r) const;
};

class PointReachEnv : public Env {
 public:
  PointReachEnv(const EnvFamily& family, const PointReachConfig& config);

  void observe(std::span<float> out) const override;
  Scene scene() const override;
  nlohmann::json describe() const override;

  // The hidden factors of the current task, for the expert and the drawing.
  int goal() const { return goal_; }
  float gain() const { return gain_; }
  const float* drift() const { return drift_; }
  const float* position() const { return pos_; }
  const float* velocity() const { return vel_; }
  const std::vector<float>& goals() const { return goals_; }  // num_goals x 2
  const PointReachConfig& config() const { return config_; }

 protected:
  void on_reset(Rng& rng, const Task& task) override;
  StepResult on_step(const Action& a) override;

 private:
  PointReachConfig config_;
  int goal_ = 0;
  float gain_ = 1, drift_[2] = {0, 0};
  float pos_[2] = {0, 0}, vel_[2] = {0, 0};
  std::vector<float> goals_;
};

class PointReachExpert : public Expert {
 public:
  Action act(const Env& env, std::span<float> values) const override;
};

class PointReachFamily : public EnvFamily {
 public:
  static constexpr const char* kName = "point_reach";
  static constexpr const char* kSummary =
      "continuous control: steer a point mass to a hidden goal under hidden drift and actuator";
  using Config = PointReachConfig;
  explicit PointReachFamily(const Config& config);

  std::unique_ptr<Env> make_env() const override;
  std::unique_ptr<Expert> make_expert() const override;
  double discount() const override { return config_.discount; }
  double expert_success_threshold() const override { return 0.98; }
  // A tenth of the action range: closer than that, two forces steer alike.
  double action_tolerance() const override { return 0.2; }

 protected:
  YAML::Node config_fields() const override { return write_config(config_); }

 private:
  Config config_;
};

}  // namespace hc::envs::point
