// What the Box2D families share: the config keys of the fixed physics step and of the action
// variant, the stepping of a world (with an optional clock for benchmarks), drawing bodies from
// their own shapes, and describing them for tools.
//
// Every environment owns its b2World and rebuilds it on reset, so an episode depends only on its
// seed and task: nothing of an earlier episode (contact caches, the broad-phase tree's node
// order) carries over, and environments on different threads share no physics state.
#pragma once

#include <box2d/box2d.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "base/config.h"
#include "envs/core/scene.h"

namespace hc::envs::physics {

// Which action space a family's environments use; both drive the same physics core.
enum class ActionKind { kContinuous, kDiscrete };

}  // namespace hc::envs::physics

template <>
struct hc::EnumNames<hc::envs::physics::ActionKind> {
  using A = hc::envs::physics::ActionKind;
  static constexpr std::pair<A, const char*> values[] = {{A::kContinuous, "continuous"},
                                                         {A::kDiscrete, "discrete"}};
};

namespace hc::envs::physics {

// The fixed physics step, shared by the Box2D families' configs (flat keys).
struct StepConfig {
  double dt = 1.0 / 30;         // seconds per Box2D step
  int sub_steps = 3;            // Box2D steps per environment step (the action is held)
  int velocity_iterations = 6;  // Box2D velocity constraint iterations per Box2D step
  int position_iterations = 2;  // Box2D position constraint iterations per Box2D step

  template <class V>
  void fields(V& v) {
    v("dt", dt, "seconds per Box2D step (fixed)", in_range(0.001, 0.1));
    v("sub_steps", sub_steps, "Box2D steps per environment step (the action is held)",
      in_range(1, 100));
    v("velocity_iterations", velocity_iterations, "Box2D velocity iterations per Box2D step",
      in_range(1, 100));
    v("position_iterations", position_iterations, "Box2D position iterations per Box2D step",
      in_range(1, 100));
  }
  double env_dt() const { return dt * sub_steps; }  // seconds per environment step
};

// Time spent inside b2World::Step on this thread, accumulated while a benchmark points
// step_clock at one of these; left null, it costs one predictable branch per Box2D step. Each
// timed step reads the clock three times: `read_ns` sums the gap between the first two readings
// (what one reading costs, there and then) and `step_ns` the gap around the step, which holds
// one reading's cost too.
struct StepClock {
  int64_t step_ns = 0;
  int64_t read_ns = 0;
  int64_t steps = 0;
  double physics_ns() const { return static_cast<double>(step_ns - read_ns); }
  double reads_ns() const { return 3.0 * static_cast<double>(read_ns); }  // all readings' cost
};
inline thread_local StepClock* step_clock = nullptr;

// One Box2D step of `world` under `c` (timed when step_clock is set).
void step_world(b2World& world, const StepConfig& c);

// A fresh world under `gravity` (m/s^2) with sleeping off: a body at rest still feels the forces
// a family applies every step, and sleep would only save time on bodies at rest.
std::unique_ptr<b2World> make_world(b2Vec2 gravity);

// Every fixture of `body` in world coordinates: polygons as polygons, circles as circles (with a
// spoke showing the body's angle when `spoke` is set), edges and chains as lines.
void draw_body(Scene& s, const b2Body& body, Color c, char glyph, bool spoke = false);

// Position, angle, velocity and angular velocity of a body, for `hypercomp demo --json`.
nlohmann::json describe_body(const b2Body& body);

// The angle of a body wrapped into [-pi, pi] (Box2D lets it accumulate).
float wrapped_angle(const b2Body& body);

// Fixture user data carries a small tag saying which part of a body a fixture is.
inline uintptr_t tag_of(const b2Fixture* f) {
  return const_cast<b2Fixture*>(f)->GetUserData().pointer;
}

}  // namespace hc::envs::physics
