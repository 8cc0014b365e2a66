#include "envs/physics/push.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace hc::envs::physics {
namespace {

constexpr const char* kKinds[] = {"box", "disc", "triangle"};
constexpr const char* kFloors[] = {"normal", "icy", "sticky"};
constexpr const char* kMasses[] = {"light", "heavy"};
constexpr float kBoxHalf = 0.15f;         // half side of the box (m)
constexpr float kDiscRadius = 0.16f;      // m
constexpr float kTriangleRadius = 0.22f;  // circumradius of the equilateral triangle (m)
constexpr float kObjectStart = 0.3f;      // the object starts in [-kObjectStart, kObjectStart]^2
constexpr float kAgentApart = 0.6f;       // least start distance of agent and object centres (m)
constexpr float kWallMargin = 0.3f;       // the agent starts at least this far from the walls (m)
constexpr float kPi = std::numbers::pi_v<float>;
constexpr float kDiag = std::numbers::sqrt2_v<float> / 2;
// Discrete actions: none, then the compass directions clockwise from north.
constexpr const char* kDirectionNames[] = {"none",       "north",      "north_east",
                                           "east",       "south_east", "south",
                                           "south_west", "west",       "north_west"};
constexpr float kDirections[][2] = {{0, 0},           {0, 1},          {kDiag, kDiag},
                                    {1, 0},           {kDiag, -kDiag}, {0, -1},
                                    {-kDiag, -kDiag}, {-1, 0},         {-kDiag, kDiag}};
constexpr uintptr_t kWallTag = 1, kAgentTag = 2, kObjectTag = 3;

TaskSpace make_space(const PushConfig& c) {
  std::vector<std::string> zones;
  for (int i = 0; i < c.num_zones; ++i) zones.push_back(std::to_string(i));
  return TaskSpace::categorical({{"object", {kKinds, kKinds + 3}},
                                 {"zone", zones},
                                 {"floor", {kFloors, kFloors + 3}},
                                 {"mass", {kMasses, kMasses + 2}}});
}

ObservationSpec make_obs_spec(const PushConfig& c) {
  const auto t = static_cast<float>(c.table);
  std::vector<std::string> names = {"agent_x",    "agent_y",    "agent_vx",    "agent_vy",
                                    "object_x",   "object_y",   "object_vx",   "object_vy",
                                    "object_cos", "object_sin", "object_spin", "is_box",
                                    "is_disc",    "is_triangle"};
  std::vector<float> low = {-t,        -t, -INFINITY, -INFINITY, -t, -t, -INFINITY,
                            -INFINITY, -1, -1,        -INFINITY, 0,  0,  0};
  std::vector<float> high = {t,        t, INFINITY, INFINITY, t, t, INFINITY,
                             INFINITY, 1, 1,        INFINITY, 1, 1, 1};
  for (int i = 0; i < c.num_zones; ++i) {
    names.push_back(fmt::format("zone{}_x", i));
    names.push_back(fmt::format("zone{}_y", i));
    low.insert(low.end(), {-t, -t});
    high.insert(high.end(), {t, t});
  }
  return ObservationSpec::vector(std::move(names), std::move(low), std::move(high));
}

ActionSpec make_act_spec(const PushConfig& c) {
  if (c.actions == ActionKind::kDiscrete)
    return ActionSpec::actions({kDirectionNames, kDirectionNames + 9});
  return ActionSpec::box({"fx", "fy"}, {-1, -1}, {1, 1});
}

// Gives a body exactly `mass` kg, keeping its shape's centre and distribution of mass.
void set_mass(b2Body* body, float mass) {
  b2MassData md;
  body->GetMassData(&md);
  md.I *= mass / md.mass;
  md.mass = mass;
  body->SetMassData(&md);
}

float smoothstep(float lo, float hi, float x) {
  const float t = std::clamp((x - lo) / (hi - lo), 0.0f, 1.0f);
  return t * t * (3 - 2 * t);
}

}  // namespace

void PushConfig::validate(const ConfigReader& r) const {
  if (!(icy_damping > 0))
    r.fail_value("icy_damping",
                 "a value > 0 (on a floor without damping the object never comes to rest)",
                 shortest(icy_damping));
  if (!(icy_damping < normal_damping))
    r.fail_value("icy_damping", fmt::format("less than normal_damping ({})", normal_damping),
                 shortest(icy_damping));
  if (!(normal_damping < sticky_damping))
    r.fail_value("sticky_damping", fmt::format("more than normal_damping ({})", normal_damping),
                 shortest(sticky_damping));
  if (!(light_mass < heavy_mass))
    r.fail_value("heavy_mass", fmt::format("more than light_mass ({})", light_mass),
                 shortest(heavy_mass));
  if (zone_ring + zone_jitter + zone_radius > table)
    r.fail_value("zone_ring",
                 fmt::format("at most table - zone_jitter - zone_radius = {} (zones must lie on "
                             "the table)",
                             table - zone_jitter - zone_radius),
                 shortest(zone_ring));
  // The object starts in a square around the centre that no zone may reach.
  const double start = kObjectStart * std::numbers::sqrt2;
  if (zone_ring - zone_jitter - zone_radius < start + 0.02)
    r.fail_value("zone_ring",
                 fmt::format("at least zone_jitter + zone_radius + {:.2f} = {} (the object must "
                             "start outside every zone)",
                             start + 0.02, zone_jitter + zone_radius + start + 0.02),
                 shortest(zone_ring));
  if (table < kAgentApart + kWallMargin + kObjectStart)
    r.fail_value("table",
                 fmt::format("at least {} (room to place the agent)",
                             kAgentApart + kWallMargin + kObjectStart),
                 shortest(table));
  // The expert pushes a heavy object on a sticky floor at push_speed, with room to steer.
  const double needed =
      1.5 * (agent_mass * agent_damping + heavy_mass * sticky_damping) * push_speed;
  if (max_force < needed)
    r.fail_value("max_force",
                 fmt::format("at least 1.5 x (agent_mass x agent_damping + heavy_mass x "
                             "sticky_damping) x push_speed = {} N (else a heavy object cannot "
                             "be pushed on a sticky floor)",
                             needed),
                 shortest(max_force));
}

PushFamily::PushFamily(const Config& c)
    : EnvFamily(kName, make_space(c), c.split.spec(), c.split.seed, /*continuous_weights=*/false,
                c.demos, make_obs_spec(c), make_act_spec(c)),
      config_(c) {}

std::unique_ptr<Env> PushFamily::make_env() const {
  return std::make_unique<PushEnv>(*this, config_);
}

std::unique_ptr<Expert> PushFamily::make_expert() const { return std::make_unique<PushExpert>(); }

std::vector<tasks::Subroutine> PushFamily::subroutines() const {
  std::vector<tasks::Subroutine> out;
  for (int f = 0; f < 3; ++f) {
    tasks::Subroutine s{
        fmt::format("floor_{}", kFloors[f]),
        fmt::format("pushing on the {} floor (every object, zone and mass)", kFloors[f])};
    s.uses_task = [f](const tasks::Task& t) { return t.values[2] == f; };  // factor "floor"
    out.push_back(std::move(s));
  }
  return out;
}

PushEnv::PushEnv(const EnvFamily& family, const PushConfig& config)
    : Env(family, config.max_steps), config_(config) {}

void PushEnv::on_reset(Rng& rng, const Task& task) {
  const PushConfig& c = config_;
  kind_ = static_cast<ObjectKind>(task.values[0]);
  zone_ = task.values[1];
  floor_ = task.values[2];
  object_damping_ = static_cast<float>(floor_ == 0   ? c.normal_damping
                                       : floor_ == 1 ? c.icy_damping
                                                     : c.sticky_damping);
  object_mass_ = static_cast<float>(task.values[3] == 0 ? c.light_mass : c.heavy_mass);
  const auto uniform = [&](double lo, double hi) {
    return static_cast<float>(rng.uniform(lo, hi));
  };

  zones_.resize(c.num_zones);
  for (int k = 0; k < c.num_zones; ++k) {
    const double a = kPi / 4 + 2 * kPi * k / c.num_zones;
    zones_[k].Set(
        static_cast<float>(c.zone_ring * std::cos(a)) + uniform(-c.zone_jitter, c.zone_jitter),
        static_cast<float>(c.zone_ring * std::sin(a)) + uniform(-c.zone_jitter, c.zone_jitter));
  }
  const b2Vec2 object_at(uniform(-kObjectStart, kObjectStart),
                         uniform(-kObjectStart, kObjectStart));
  const float object_angle = uniform(-kPi, kPi);
  const float spread = static_cast<float>(c.table) - kWallMargin;
  b2Vec2 agent_at;
  do {
    agent_at.Set(uniform(-spread, spread), uniform(-spread, spread));
  } while ((agent_at - object_at).Length() < kAgentApart);

  world_ = make_world({0, 0});
  const auto t = static_cast<float>(c.table);
  b2BodyDef wall_def;
  b2Body* walls = world_->CreateBody(&wall_def);
  // Clockwise: one-sided chain edges collide on their right, here the inside of the table.
  const b2Vec2 corners[4] = {{-t, -t}, {-t, t}, {t, t}, {t, -t}};
  b2ChainShape loop;
  loop.CreateLoop(corners, 4);
  b2FixtureDef wall_fixture;
  wall_fixture.shape = &loop;
  wall_fixture.userData.pointer = kWallTag;
  walls->CreateFixture(&wall_fixture);

  b2BodyDef agent_def;
  agent_def.type = b2_dynamicBody;
  agent_def.position = agent_at;
  agent_def.fixedRotation = true;
  agent_def.linearDamping = static_cast<float>(c.agent_damping);
  agent_ = world_->CreateBody(&agent_def);
  b2CircleShape disc;
  disc.m_radius = static_cast<float>(c.agent_radius);
  b2FixtureDef agent_fixture;
  agent_fixture.shape = &disc;
  agent_fixture.density = 1;
  agent_fixture.friction = static_cast<float>(c.contact_friction);
  agent_fixture.userData.pointer = kAgentTag;
  agent_->CreateFixture(&agent_fixture);
  set_mass(agent_, static_cast<float>(c.agent_mass));

  b2BodyDef object_def;
  object_def.type = b2_dynamicBody;
  object_def.position = object_at;
  object_def.angle = object_angle;
  object_def.linearDamping = object_damping_;
  // The floor resists spinning as it resists sliding; twice the rate keeps a pushed object from
  // turning away from the pusher.
  object_def.angularDamping = 2 * object_damping_;
  object_ = world_->CreateBody(&object_def);
  b2PolygonShape polygon;
  b2CircleShape circle;
  b2FixtureDef object_fixture;
  switch (kind_) {
    case ObjectKind::kBox:
      polygon.SetAsBox(kBoxHalf, kBoxHalf);
      object_fixture.shape = &polygon;
      break;
    case ObjectKind::kDisc:
      circle.m_radius = kDiscRadius;
      object_fixture.shape = &circle;
      break;
    case ObjectKind::kTriangle: {
      b2Vec2 v[3];
      for (int i = 0; i < 3; ++i)
        v[i].Set(kTriangleRadius * std::cos(2 * kPi * i / 3),
                 kTriangleRadius * std::sin(2 * kPi * i / 3));
      polygon.Set(v, 3);
      object_fixture.shape = &polygon;
      break;
    }
  }
  object_fixture.density = 1;
  object_fixture.friction = static_cast<float>(c.contact_friction);
  object_fixture.userData.pointer = kObjectTag;
  object_->CreateFixture(&object_fixture);
  set_mass(object_, object_mass_);
  last_force_.SetZero();
}

b2Vec2 PushEnv::force(const Action& a) const {
  if (a.index >= 0) {
    const auto f = static_cast<float>(config_.discrete_force);
    return {f * kDirections[a.index][0], f * kDirections[a.index][1]};
  }
  const auto f = static_cast<float>(config_.max_force);
  return {f * a.value[0], f * a.value[1]};
}

StepResult PushEnv::on_step(const Action& a) {
  last_force_ = force(a);
  for (int s = 0; s < config_.step.sub_steps; ++s) {
    agent_->ApplyForceToCenter(last_force_, /*wake=*/true);
    step_world(*world_, config_.step);
  }
  StepResult r;
  const b2Vec2 to_zone = zones_[zone_] - object_->GetPosition();
  if (to_zone.Length() <= config_.zone_radius &&
      object_->GetLinearVelocity().Length() <= config_.stop_speed) {
    r.reward = 1.0f;
    r.terminated = true;
    r.end = EndReason::kSolved;
  }
  return r;
}

float PushEnv::gap() const {
  const b2Vec2 a = agent_->GetPosition();
  const auto ra = static_cast<float>(config_.agent_radius);
  if (kind_ == ObjectKind::kDisc)
    return std::max(0.0f, (a - object_->GetPosition()).Length() - kDiscRadius - ra);
  // Distance from the agent's centre to the convex polygon, in the object's frame; Box2D's
  // polygons carry a skin of b2_polygonRadius that touches first.
  const auto* poly = static_cast<const b2PolygonShape*>(object_->GetFixtureList()->GetShape());
  const b2Vec2 p = b2MulT(object_->GetTransform(), a);
  float outside = -INFINITY;
  for (int i = 0; i < poly->m_count; ++i)
    outside = std::max(outside, b2Dot(poly->m_normals[i], p - poly->m_vertices[i]));
  float d = 0;
  if (outside > 0) {
    d = INFINITY;
    for (int i = 0; i < poly->m_count; ++i) {
      const b2Vec2 v0 = poly->m_vertices[i], v1 = poly->m_vertices[(i + 1) % poly->m_count];
      const b2Vec2 e = v1 - v0;
      const float t = std::clamp(b2Dot(p - v0, e) / b2Dot(e, e), 0.0f, 1.0f);
      d = std::min(d, (p - (v0 + t * e)).Length());
    }
  }
  return std::max(0.0f, d - ra - b2_polygonRadius);
}

float PushEnv::object_reach() const {
  switch (kind_) {
    case ObjectKind::kBox:
      return kBoxHalf * std::numbers::sqrt2_v<float>;
    case ObjectKind::kDisc:
      return kDiscRadius;
    case ObjectKind::kTriangle:
      return kTriangleRadius;
  }
  return kTriangleRadius;
}

void PushEnv::observe(std::span<float> out) const {
  const b2Vec2 a = agent_->GetPosition(), va = agent_->GetLinearVelocity();
  const b2Vec2 o = object_->GetPosition(), vo = object_->GetLinearVelocity();
  const b2Rot& q = object_->GetTransform().q;
  out[0] = a.x, out[1] = a.y, out[2] = va.x, out[3] = va.y;
  out[4] = o.x, out[5] = o.y, out[6] = vo.x, out[7] = vo.y;
  out[8] = q.c, out[9] = q.s, out[10] = object_->GetAngularVelocity();
  for (int k = 0; k < kObjectKinds; ++k) out[11 + k] = k == static_cast<int>(kind_) ? 1.0f : 0.0f;
  for (size_t k = 0; k < zones_.size(); ++k)
    out[14 + 2 * k] = zones_[k].x, out[15 + 2 * k] = zones_[k].y;
}

Scene PushEnv::scene() const {
  const PushConfig& c = config_;
  const auto t = static_cast<float>(c.table);
  Scene s;
  s.min = {-t, -t};
  s.max = {t, t};
  s.y_up = true;
  s.fps = static_cast<float>(1.0 / c.step.env_dt());
  // The floor's colour shows its hidden kind to people (never to the policy).
  static constexpr Color kFloorColor[] = {{236, 234, 224}, {214, 236, 250}, {226, 206, 172}};
  s.rect(-t, -t, t, t, kFloorColor[floor_]);
  const auto zr = static_cast<float>(c.zone_radius);
  for (size_t k = 0; k < zones_.size(); ++k) {
    const b2Vec2 z = zones_[k];
    if (static_cast<int>(k) == zone_) s.circle(z.x, z.y, zr * 1.12f, {40, 40, 40}, '+');
    Color tint = palette_color(static_cast<int>(k));
    tint.a = 110;
    s.circle(z.x, z.y, zr, tint, static_cast<char>('0' + k));
    s.marker(static_cast<int>(k), z.x, z.y, zr * 0.25f, palette_color(static_cast<int>(k)));
    s.shapes.back().label = std::to_string(k);
  }
  for (const b2Body* b = world_->GetBodyList(); b; b = b->GetNext())
    if (b->GetType() == b2_staticBody) draw_body(s, *b, {60, 60, 60}, 0);
  static constexpr char kGlyph[] = {'B', 'O', 'T'};
  draw_body(s, *object_, palette_color(4 + static_cast<int>(kind_)),
            kGlyph[static_cast<int>(kind_)],
            /*spoke=*/true);
  const b2Vec2 o = object_->GetPosition(), vo = object_->GetLinearVelocity();
  s.line({{o.x, o.y}, {o.x + 0.5f * vo.x, o.y + 0.5f * vo.y}}, 0.015f, {60, 60, 60});
  const b2Vec2 a = agent_->GetPosition(), va = agent_->GetLinearVelocity();
  draw_body(s, *agent_, {250, 250, 250}, '@');
  s.circle(a.x, a.y, static_cast<float>(c.agent_radius) * 0.4f, {20, 20, 20});
  // The force of the last action, scaled so that max_force reaches a quarter metre.
  const float fs = 0.25f / static_cast<float>(c.max_force);
  s.line({{a.x, a.y}, {a.x + fs * last_force_.x, a.y + fs * last_force_.y}}, 0.02f, {200, 40, 40});
  const b2Vec2 z = zones_[zone_];
  s.caption = fmt::format(
      "{} | step {} | agent ({:+.2f}, {:+.2f}) v ({:+.2f}, {:+.2f}) | {} ({:+.2f}, {:+.2f}) "
      "v ({:+.2f}, {:+.2f}) {:+.0f} deg | {:.2f} m to zone {} ({:+.2f}, {:+.2f}), gap {:.2f} m",
      task_space().describe(task()), elapsed(), a.x, a.y, va.x, va.y,
      kKinds[static_cast<int>(kind_)], o.x, o.y, vo.x, vo.y, wrapped_angle(*object_) * 180 / kPi,
      (z - o).Length(), zone_, z.x, z.y, gap());
  return s;
}

nlohmann::json PushEnv::describe() const {
  nlohmann::json zones = nlohmann::json::array();
  for (const b2Vec2& z : zones_) zones.push_back({z.x, z.y});
  nlohmann::json object = describe_body(*object_);
  object["kind"] = kKinds[static_cast<int>(kind_)];
  object["mass"] = object_mass_;
  object["damping"] = object_damping_;
  return {{"agent", describe_body(*agent_)},
          {"object", object},
          {"zones", zones},
          {"zone", zone_},
          {"floor", kFloors[floor_]},
          {"mass", kMasses[task().values[3]]},
          {"force", {last_force_.x, last_force_.y}},
          {"gap", gap()}};
}

PushExpert::Plan PushExpert::plan(const PushEnv& e) {
  const PushConfig& c = e.config();
  // Gains and speeds of the scripted controller.
  constexpr float kApproachRate = 1.5f;  // 1/s: object speed per metre left, on grippy floors
  constexpr float kCoastShare = 0.8f;    // of the floor's damping: the object coasts short
  constexpr float kRest = 0.4f;          // of the zone's radius: where the object should stop
  constexpr float kGapGain = 2.0f;       // 1/s: closing speed per metre of gap
  constexpr float kLateralGain = 4.0f;   // 1/s: sideways speed per metre off the pushing line
  constexpr float kClearance = 0.12f;    // m: between the orbit and the object's reach
  constexpr float kStage = 0.08f;        // m: the approach ends this far behind contact
  constexpr float kCruise = 1.2f;        // m/s: travel speed when going around the object
  constexpr float kRadialGain = 4.0f;    // 1/s: return to the orbit per metre off it
  constexpr float kMaxSpeed = 1.5f;      // m/s
  constexpr float kVelocityGain = 6.0f;  // 1/s: velocity tracking of the agent's drive
  constexpr float kSettleSpeed = 0.3f;   // m/s: backing away from an object come to rest

  const b2Vec2 a = e.agent().GetPosition(), va = e.agent().GetLinearVelocity();
  const b2Vec2 o = e.object().GetPosition(), vo = e.object().GetLinearVelocity();
  b2Vec2 u = e.zones()[e.zone()] - o;
  const float dist = u.Normalize();
  if (dist == 0) u.Set(1, 0);
  const b2Vec2 side(-u.y, u.x);
  const float reach = e.object_reach() + static_cast<float>(c.agent_radius);
  const float orbit = reach + kClearance;
  b2Vec2 n = a - o;
  const float r = n.Normalize();
  // 1 when the agent is squarely behind the object as seen from the zone.
  const float behind = -b2Dot(n, u);

  // Push: at the speed from which the object coasts to rest short of the zone's centre (a
  // damped object travels v / damping), closing the gap and holding the line through the object.
  const float rate = std::min(kApproachRate, kCoastShare * e.object_damping());
  const float rest = kRest * static_cast<float>(c.zone_radius);
  const float speed =
      std::min(static_cast<float>(c.push_speed), rate * std::max(0.0f, dist - rest));
  const float off_line = b2Dot(a - o, side);
  const b2Vec2 push = (speed + std::min(kCruise, kGapGain * e.gap())) * u +
                      (b2Dot(vo, side) - kLateralGain * off_line) * side;

  // Go around: head for a point behind the object, by the tangent of a circle around it when the
  // straight way passes the object; on that circle, move along it towards the back.
  const b2Vec2 back = -u;
  const float turn = b2Cross(n, back) >= 0 ? 1.0f : -1.0f;  // which way round is shorter
  b2Vec2 around;
  if (r > 1.1f * orbit) {
    const b2Vec2 stage = o - (reach + kStage) * u;
    b2Vec2 to = stage - a;
    const float len = to.Length();
    // Closest approach of the segment a -> stage to the object's centre.
    const float t = len > 0 ? std::clamp(b2Dot(o - a, to) / (len * len), 0.0f, 1.0f) : 0.0f;
    b2Vec2 target = stage;
    if ((a + t * to - o).Length() < orbit) {
      const float beta = std::acos(std::clamp(orbit / r, -1.0f, 1.0f));
      const b2Rot rot(turn * beta);
      target = o + orbit * b2Mul(rot, n);
    }
    b2Vec2 dir = target - a;
    const float d = dir.Normalize();
    around = vo + std::min(kCruise, kRadialGain * d + 0.2f) * dir;
  } else {
    const b2Vec2 tangent = turn * b2Vec2(-n.y, n.x);
    around = vo + kCruise * tangent + kRadialGain * (orbit - r) * n;
  }

  const float w = smoothstep(std::cos(45 * kPi / 180), std::cos(20 * kPi / 180), behind);
  b2Vec2 want = w * push + (1 - w) * around;
  // Settle: once the object is well inside the zone, back away and let the floor stop it (a push
  // from the side now would only keep it moving).
  const auto zr = static_cast<float>(c.zone_radius);
  const float settle = smoothstep(0.75f * zr, 0.55f * zr, dist);
  const b2Vec2 retreat = e.gap() < kStage ? kSettleSpeed * n : b2Vec2(0, 0);
  want = (1 - settle) * want + settle * retreat;
  const float v = want.Length();
  if (v > kMaxSpeed) want *= kMaxSpeed / v;

  // The drive's force that reaches `want`, holding against its own damping, plus the object's
  // resistance (its floor's damping times its mass) while pushing it.
  const auto ma = static_cast<float>(c.agent_mass), da = static_cast<float>(c.agent_damping);
  b2Vec2 f = ma * (kVelocityGain * (want - va) + da * want);
  if (e.gap() < 0.02f)
    f += (w * e.object_mass() * e.object_damping() * std::max(0.0f, b2Dot(want, u))) * u;
  Plan p;
  p.force = (1 / static_cast<float>(c.max_force)) * f;
  p.direction = u;
  p.distance = dist;
  p.speed = speed;
  p.pushing = w;
  p.settling = settle;
  return p;
}

Action PushExpert::act(const Env& env, std::span<float>) const {
  const auto& e = env_cast<PushEnv>(env, "the push expert");
  const Plan p = plan(e);
  const b2Vec2 f = p.force;
  if (!e.action_spec().discrete) {
    const float u[2] = {std::clamp(f.x, -1.0f, 1.0f), std::clamp(f.y, -1.0f, 1.0f)};
    return Action::continuous(u);
  }
  // One force, on or off: the compass direction closest to the wanted force.
  const PushConfig& c = e.config();
  const float share = static_cast<float>(c.discrete_force / c.max_force);
  int closest = 1;
  for (int i = 2; i < 9; ++i)
    if (f.x * kDirections[i][0] + f.y * kDirections[i][1] >
        f.x * kDirections[closest][0] + f.y * kDirections[closest][1])
      closest = i;
  const b2Vec2 u = p.direction;
  if (p.pushing > 0.5f && p.settling < 0.5f && e.gap() < 0.03f) {
    // In contact, a step of pushing speeds agent and object up together by a fixed amount;
    // push while the object is slower than wanted, unless it would then coast past the zone.
    const float ma = static_cast<float>(c.agent_mass), mo = e.object_mass();
    const float along = (ma * b2Dot(e.agent().GetLinearVelocity(), u) +
                         mo * b2Dot(e.object().GetLinearVelocity(), u) +
                         static_cast<float>(c.discrete_force * c.step.env_dt())) /
                        (ma + mo);
    const float coast = std::max(0.0f, along) / e.object_damping();
    const bool slow = b2Dot(e.object().GetLinearVelocity(), u) < p.speed;
    const bool stays = coast <= p.distance + 0.7f * static_cast<float>(c.zone_radius);
    return Action::discrete(slow && stays ? closest : 0);
  }
  // Elsewhere, none or the closest direction, whichever force is nearer the wanted one.
  const b2Vec2 d(share * kDirections[closest][0], share * kDirections[closest][1]);
  return Action::discrete((f - d).LengthSquared() < f.LengthSquared() ? closest : 0);
}

}  // namespace hc::envs::physics
