// push: a disc pushes an object across a table into a hidden target zone, on a floor and with an
// object mass that are hidden too -- a Box2D family with categorical factors.
//
// Description   A top-down square table (no gravity) walled at +-table metres. An agent disc
//               pushes an object (a box, a disc or a triangle) into one of num_zones circular
//               zones; which zone counts, how slippery the floor is and how heavy the object is
//               are hidden: a learner infers them from the support demonstrations.
// Factors       object (box, disc, triangle; visible) x zone (which of num_zones, by index) x
//               floor (normal, icy, sticky: the object's linear damping) x mass (light, heavy):
//               3 x 4 x 3 x 2 = 72 tasks by default.
// Observation   14 + 2 x num_zones floats: agent x, y in [-table, table]; agent vx, vy
//               (unbounded); object x, y in [-table, table]; object vx, vy (unbounded); object
//               cos, sin of its angle in [-1, 1]; object angular velocity (unbounded); object
//               kind one-hot (box, disc, triangle) in {0, 1}; every zone's centre x, y in
//               [-table, table]. The task's zone is not marked.
// Actions       continuous: a force (fx, fy) in [-1, 1]^2 times max_force on the agent;
//               discrete: none or one of 8 compass directions at discrete_force.
// Dynamics      Box2D, no gravity; dt seconds per Box2D step, sub_steps steps per environment
//               step with the action held, velocity_iterations / position_iterations solver
//               iterations. The floor acts as linear damping on the object (and twice that on its
//               spin); the agent's own drive has damping agent_damping.
// Reward        1 when the object rests in the task's zone (centre within zone_radius, slower
//               than stop_speed).
// Termination   on that (solved); truncated after max_steps.
// Expert        gets behind the object on the line from the zone through it (going around the
//               object when on the wrong side), then pushes with lateral correction at a speed
//               that lets the object coast to rest in the zone (v <= damping x distance on slick
//               floors), with feed-forward for the object's mass and the floor (it knows the
//               hidden factors); scripted, so its success rate is checked (>= 98%).
// Splits        random (frac_ood 0.25) or non_compositional (the triangle never trained).
#pragma once

#include <box2d/box2d.h>

#include <memory>
#include <vector>

#include "base/config.h"
#include "envs/core/env_family.h"
#include "envs/physics/physics.h"

namespace hc::envs::physics {

struct PushConfig {
  tasks::SplitConfig split;
  ActionKind actions = ActionKind::kContinuous;
  int num_zones = 4;
  double table = 1.5;             // half-size of the walled square table (m)
  double zone_ring = 0.9;         // distance of the zones' anchors from the centre (m)
  double zone_jitter = 0.15;      // zones move up to this far from their anchors per episode (m)
  double zone_radius = 0.3;       // radius of a zone (m)
  double light_mass = 0.5;        // mass of a light object (kg)
  double heavy_mass = 2.0;        // mass of a heavy object (kg)
  double normal_damping = 1.5;    // linear damping of the object on a normal floor (1/s)
  double icy_damping = 0.4;       // ... on an icy floor (1/s)
  double sticky_damping = 4.0;    // ... on a sticky floor (1/s)
  double agent_radius = 0.1;      // m
  double agent_mass = 1.0;        // kg
  double agent_damping = 4.0;     // linear damping of the agent's drive (1/s)
  double max_force = 12.0;        // force of a unit action (N)
  double discrete_force = 3.0;    // force of a discrete action (N)
  double contact_friction = 0.3;  // Coulomb friction between agent and object
  double stop_speed = 0.1;        // object speed below which it counts as resting (m/s)
  double push_speed = 0.5;        // the expert's cruising speed of the object (m/s)
  StepConfig step{.dt = 0.05, .sub_steps = 2};
  int max_steps = 200;
  double discount = 0.99;
  DemoConfig demos{.support_demos = 2, .query_demos = 2};

  template <class V>
  void fields(V& v) {
    split.fields(v, {tasks::Support::kRandom, tasks::Support::kNonCompositional});
    v("actions", actions, "action space: continuous (force vector) or discrete (9 directions)");
    v("num_zones", num_zones, "candidate target zones per episode (values of the zone factor)",
      in_range(2, 8));
    v("table", table, "half-size of the walled square table, in metres", in_range(0.5, 20.0));
    v("zone_ring", zone_ring, "distance of the zone anchors from the table's centre, in metres",
      in_range(0.1, 20.0));
    v("zone_jitter", zone_jitter, "zones move up to this far from their anchors, in metres",
      in_range(0.0, 5.0));
    v("zone_radius", zone_radius, "radius of a zone, in metres", in_range(0.05, 5.0));
    v("light_mass", light_mass, "mass of a light object, in kg", in_range(0.01, 100.0));
    v("heavy_mass", heavy_mass, "mass of a heavy object, in kg", in_range(0.01, 100.0));
    v("normal_damping", normal_damping, "object's linear damping on a normal floor, per second",
      in_range(0.0, 50.0));
    v("icy_damping", icy_damping, "object's linear damping on an icy floor, per second",
      in_range(0.0, 50.0));
    v("sticky_damping", sticky_damping, "object's linear damping on a sticky floor, per second",
      in_range(0.0, 50.0));
    v("agent_radius", agent_radius, "radius of the agent disc, in metres", in_range(0.02, 2.0));
    v("agent_mass", agent_mass, "mass of the agent, in kg", in_range(0.01, 100.0));
    v("agent_damping", agent_damping, "linear damping of the agent's drive, per second",
      in_range(0.0, 50.0));
    v("max_force", max_force, "force of a unit action on the agent, in newtons",
      in_range(0.01, 1000.0));
    v("discrete_force", discrete_force, "force of a discrete action on the agent, in newtons",
      in_range(0.01, 1000.0));
    v("contact_friction", contact_friction, "Coulomb friction between agent and object",
      in_range(0.0, 2.0));
    v("stop_speed", stop_speed, "object speed below which it rests, in m/s", in_range(0.001, 10.0));
    v("push_speed", push_speed, "the expert's cruising speed of the object, in m/s",
      in_range(0.05, 10.0));
    step.fields(v);
    v("max_steps", max_steps, "time limit of an episode in steps", in_range(1, 100000));
    v("discount", discount, "discount of returns", in_range(0.01, 1.0));
    demos.fields(v);
  }
  void validate(const ConfigReader& r) const;
};

// The object kinds, in the order of the object factor and of the observation's one-hot.
enum class ObjectKind { kBox, kDisc, kTriangle };
inline constexpr int kObjectKinds = 3;

class PushEnv : public Env {
 public:
  PushEnv(const EnvFamily& family, const PushConfig& config);

  void observe(std::span<float> out) const override;
  Scene scene() const override;
  nlohmann::json describe() const override;

  // The hidden factors of the current task, for the expert and the drawing.
  ObjectKind object_kind() const { return kind_; }
  int zone() const { return zone_; }
  int floor() const { return floor_; }
  float object_damping() const { return object_damping_; }
  float object_mass() const { return object_mass_; }
  const std::vector<b2Vec2>& zones() const { return zones_; }
  const b2Body& agent() const { return *agent_; }
  const b2Body& object() const { return *object_; }
  const PushConfig& config() const { return config_; }
  // The agent's force (N) of an action.
  b2Vec2 force(const Action& a) const;
  // Distance between the surfaces of agent and object (m; 0 when touching).
  float gap() const;
  // Radius of the circle around the object's centre that contains it (m).
  float object_reach() const;

 protected:
  void on_reset(Rng& rng, const Task& task) override;
  StepResult on_step(const Action& a) override;

 private:
  PushConfig config_;
  ObjectKind kind_ = ObjectKind::kBox;
  int zone_ = 0, floor_ = 0;
  float object_damping_ = 0, object_mass_ = 0;
  std::vector<b2Vec2> zones_;
  std::unique_ptr<b2World> world_;
  b2Body* agent_ = nullptr;
  b2Body* object_ = nullptr;
  b2Vec2 last_force_{0, 0};
};

class PushExpert : public Expert {
 public:
  Action act(const Env& env, std::span<float> values) const override;
  // What the controller wants in the current state.
  struct Plan {
    b2Vec2 force;        // on the agent, in units of max_force (not clamped)
    b2Vec2 direction;    // from the object to the task's zone (unit)
    float distance = 0;  // from the object's centre to the zone's (m)
    float speed = 0;     // the object's wanted speed towards the zone (m/s)
    float pushing = 0;   // 1 when the agent is behind the object and pushes it, 0 going around
    float settling = 0;  // 1 when the object is inside the zone and the agent backs away
  };
  static Plan plan(const PushEnv& env);
};

class PushFamily : public EnvFamily {
 public:
  static constexpr const char* kName = "push";
  static constexpr const char* kSummary =
      "Box2D: push an object into a hidden zone on a hidden floor, object mass hidden too";
  using Config = PushConfig;
  explicit PushFamily(const Config& config);

  std::unique_ptr<Env> make_env() const override;
  std::unique_ptr<Expert> make_expert() const override;
  // One per floor: pushing on a normal, an icy or a sticky floor (any object, zone and mass).
  std::vector<tasks::Subroutine> subroutines() const override;
  double discount() const override { return config_.discount; }
  double expert_success_threshold() const override { return 0.98; }
  // A tenth of the action range: closer than that, two forces push alike.
  double action_tolerance() const override { return 0.2; }

 protected:
  YAML::Node config_fields() const override { return write_config(config_); }

 private:
  Config config_;
};

}  // namespace hc::envs::physics
