#include "envs/physics/physics.h"

#include <chrono>
#include <cmath>
#include <numbers>

namespace hc::envs::physics {

void step_world(b2World& world, const StepConfig& c) {
  const auto dt = static_cast<float>(c.dt);
  if (!step_clock) [[likely]] {
    world.Step(dt, c.velocity_iterations, c.position_iterations);
    return;
  }
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const auto t1 = Clock::now();
  world.Step(dt, c.velocity_iterations, c.position_iterations);
  const auto t2 = Clock::now();
  step_clock->read_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
  step_clock->step_ns += std::chrono::duration_cast<std::chrono::nanoseconds>(t2 - t1).count();
  ++step_clock->steps;
}

std::unique_ptr<b2World> make_world(b2Vec2 gravity) {
  auto world = std::make_unique<b2World>(gravity);
  world->SetAllowSleeping(false);
  return world;
}

void draw_body(Scene& s, const b2Body& body, Color c, char glyph, bool spoke) {
  const b2Transform& xf = body.GetTransform();
  const auto world = [&](const b2Vec2& local) {
    const b2Vec2 p = b2Mul(xf, local);
    return Vec2{p.x, p.y};
  };
  for (const b2Fixture* f = body.GetFixtureList(); f; f = f->GetNext()) {
    const b2Shape* shape = f->GetShape();
    switch (shape->GetType()) {
      case b2Shape::e_circle: {
        const auto* circle = static_cast<const b2CircleShape*>(shape);
        const Vec2 p = world(circle->m_p);
        s.circle(p.x, p.y, circle->m_radius, c, glyph);
        if (spoke) {
          const b2Vec2 tip = b2Mul(xf, circle->m_p + b2Vec2(circle->m_radius, 0));
          s.line({p, {tip.x, tip.y}}, circle->m_radius * 0.15f, {30, 30, 30});
        }
        break;
      }
      case b2Shape::e_polygon: {
        const auto* poly = static_cast<const b2PolygonShape*>(shape);
        std::vector<Vec2> points;
        for (int i = 0; i < poly->m_count; ++i) points.push_back(world(poly->m_vertices[i]));
        s.polygon(std::move(points), c, glyph);
        break;
      }
      case b2Shape::e_edge: {
        const auto* edge = static_cast<const b2EdgeShape*>(shape);
        s.line({world(edge->m_vertex1), world(edge->m_vertex2)}, 0.04f, c);
        break;
      }
      case b2Shape::e_chain: {
        const auto* chain = static_cast<const b2ChainShape*>(shape);
        std::vector<Vec2> points;
        for (int i = 0; i < chain->m_count; ++i) points.push_back(world(chain->m_vertices[i]));
        s.line(std::move(points), 0.04f, c);
        break;
      }
      default:
        break;
    }
  }
}

nlohmann::json describe_body(const b2Body& body) {
  const b2Vec2 p = body.GetPosition(), v = body.GetLinearVelocity();
  return {{"position", {p.x, p.y}},
          {"angle", wrapped_angle(body)},
          {"velocity", {v.x, v.y}},
          {"angular_velocity", body.GetAngularVelocity()}};
}

float wrapped_angle(const b2Body& body) {
  return std::remainder(body.GetAngle(), 2 * std::numbers::pi_v<float>);
}

}  // namespace hc::envs::physics
