#include "envs/grid/preference.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "base/error.h"

namespace hc::envs::grid {
namespace {

constexpr int kNothing = 0;  // action 0; actions 1..4 are the moves up, right, down, left

TaskSpace make_space(const PreferenceConfig& c) {
  return TaskSpace::k_hot("preference", /*groups=*/1, c.num_preferences,
                          /*max_hot=*/c.num_preferences);
}

ObservationSpec make_obs_spec(const PreferenceConfig& c) {
  std::vector<std::string> channels;
  for (int i = 0; i < c.num_features; ++i) channels.push_back(fmt::format("feature_{}", i));
  channels.push_back("wall");
  channels.push_back("agent");
  const int size = static_cast<int>(c.layout.size());
  return ObservationSpec::grid(size, size, std::move(channels));
}

ActionSpec make_act_spec(const PreferenceConfig&) {
  return ActionSpec::actions({"nothing", "up", "right", "down", "left"});
}

}  // namespace

void PreferenceConfig::validate(const ConfigReader& r) const {
  const size_t n = layout.size();
  if (n < 3 || n > 15) r.fail_value("layout", "between 3 and 15 rows", std::to_string(n) + " rows");
  int free = 0;
  for (size_t i = 0; i < n; ++i) {
    if (layout[i].size() != n)
      r.fail_value("layout", fmt::format("a square: every row {} characters long", n),
                   fmt::format("row {} of length {}", i, layout[i].size()));
    for (char ch : layout[i]) {
      if (ch != '#' && ch != '.')
        r.fail_value("layout", "rows of '#' (wall) and '.' (free)",
                     fmt::format("'{}' in row {}", ch, i));
      free += ch == '.';
    }
  }
  if (free < num_objects + 1)
    r.fail_value("num_objects", fmt::format("at most {} (free cells - 1)", free - 1),
                 std::to_string(num_objects));
  if (num_hot > num_preferences)
    r.fail_value("num_hot", fmt::format("at most num_preferences ({})", num_preferences),
                 std::to_string(num_hot));
}

PreferenceFamily::PreferenceFamily(const Config& c)
    : EnvFamily(kName, make_space(c), c.split.spec(c.num_hot), c.split.seed, c.continuous, c.demos,
                make_obs_spec(c), make_act_spec(c)),
      config_(c) {
  auto world = std::make_shared<PreferenceWorld>();
  world->config = c;
  world->layout = Maze::from_rows(c.layout);
  // The layout must be connected, or some objects could never be collected.
  const Maze& m = world->layout;
  for (int a : m.free_cells())
    if (m.distance(m.free_cells().front(), a) < 0)
      throw ConfigError(fmt::format("{}: layout: free cells must all be connected", kName));
  Rng rng(derive_seed(c.split.seed, {0x9ef}));
  world->modules.resize(static_cast<size_t>(c.num_preferences) * c.num_features);
  for (float& x : world->modules) x = static_cast<float>(rng.normal());
  const int channels = world->channels();
  world->wall_obs.assign(static_cast<size_t>(m.cells()) * channels, 0.0f);
  world->free_index.assign(m.cells(), -1);
  for (int cell = 0; cell < m.cells(); ++cell)
    if (m.wall(cell)) world->wall_obs[cell * channels + c.num_features] = 1.0f;
  for (size_t i = 0; i < m.free_cells().size(); ++i)
    world->free_index[m.free_cells()[i]] = static_cast<int>(i);
  world_ = std::move(world);
}

std::unique_ptr<Env> PreferenceFamily::make_env() const {
  return std::make_unique<PreferenceEnv>(*this, world_);
}

std::unique_ptr<Expert> PreferenceFamily::make_expert() const {
  return std::make_unique<PreferenceExpert>(config_.value_targets);
}

PreferenceEnv::PreferenceEnv(const EnvFamily& family, std::shared_ptr<const PreferenceWorld> world)
    : Env(family, world->config.max_steps), world_(std::move(world)) {}

void PreferenceEnv::on_reset(Rng& rng, const Task& task) {
  const PreferenceConfig& c = world_->config;
  std::vector<int> cells = world_->layout.free_cells();
  // num_objects + 1 distinct cells: the objects, then the agent.
  for (int i = 0; i <= c.num_objects; ++i)
    std::swap(cells[i], cells[i + rng.uniform_int(cells.size() - i)]);
  object_cells_.assign(cells.begin(), cells.begin() + c.num_objects);
  agent_ = cells[c.num_objects];
  object_features_.resize(c.num_objects);
  object_reward_.resize(c.num_objects);
  for (int i = 0; i < c.num_objects; ++i) {
    object_features_[i] = static_cast<int>(rng.uniform_int(c.num_features));
    double r = 0.0;
    for (int p = 0; p < c.num_preferences; ++p)
      r += task.weights[p] * world_->modules[p * c.num_features + object_features_[i]];
    object_reward_[i] = static_cast<float>(r);
  }
  remaining_ = (1u << c.num_objects) - 1;
  q_.clear();
  q_ref_.clear();
  start_state_ = state();
  return_ = 0;
  weight_ = 1;
}

StepResult PreferenceEnv::on_step(const Action& a) {
  StepResult r;
  if (a.index == kNothing) {
    r.terminated = true;
    r.end = EndReason::kStopped;
    return r;
  }
  agent_ = world_->layout.next(agent_, a.index - 1);
  for (size_t i = 0; i < object_cells_.size(); ++i)
    if ((remaining_ >> i & 1) && object_cells_[i] == agent_) {
      remaining_ &= ~(1u << i);
      r.reward = object_reward_[i];
    }
  // Accumulated as Episode::total_return does, so that both agree to the bit.
  return_ += weight_ * r.reward;
  weight_ *= world_->config.discount;
  return r;
}

bool PreferenceEnv::judge_success(const StepResult&) const {
  if (q_.empty()) solve();
  const int states = static_cast<int>(world_->layout.free_cells().size()) << object_cells_.size();
  const float* q = q_.data() + (static_cast<size_t>(max_steps() - 1) * states + start_state_) * 5;
  const double best = *std::max_element(q, q + 5);
  const double got = static_cast<float>(return_);
  return got >= best - 1e-4 * std::max(1.0, std::abs(best));
}

void PreferenceEnv::observe(std::span<float> out) const {
  std::memcpy(out.data(), world_->wall_obs.data(), world_->wall_obs.size() * sizeof(float));
  const int channels = world_->channels();
  for (size_t i = 0; i < object_cells_.size(); ++i)
    if (remaining_ >> i & 1) out[object_cells_[i] * channels + object_features_[i]] = 1.0f;
  out[agent_ * channels + channels - 1] = 1.0f;
}

int PreferenceEnv::state() const {
  return (world_->free_index[agent_] << object_cells_.size()) | static_cast<int>(remaining_);
}

void PreferenceEnv::solve() const {
  const PreferenceConfig& c = world_->config;
  const Maze& m = world_->layout;
  const int objects = c.num_objects, masks = 1 << objects;
  const int states = static_cast<int>(m.free_cells().size()) * masks;
  const int horizon = c.max_steps;
  const auto gamma = static_cast<float>(c.discount);
  // Transitions do not depend on the horizon: tabulate them once.
  std::vector<int> next(static_cast<size_t>(states) * 4);
  std::vector<float> reward(static_cast<size_t>(states) * 4, 0.0f);
  for (size_t f = 0; f < m.free_cells().size(); ++f) {
    for (int mask = 0; mask < masks; ++mask) {
      const int s = static_cast<int>(f) * masks + mask;
      for (int mv = 0; mv < 4; ++mv) {
        const int cell = m.next(m.free_cells()[f], mv);
        int new_mask = mask;
        float r = 0.0f;
        for (int i = 0; i < objects; ++i)
          if ((mask >> i & 1) && object_cells_[i] == cell) {
            new_mask &= ~(1 << i);
            r = object_reward_[i];
          }
        next[s * 4 + mv] = world_->free_index[cell] * masks + new_mask;
        reward[s * 4 + mv] = r;
      }
    }
  }
  // The reference: max_steps backups of Q(s, a) = r + gamma * max Q(s'), where "nothing" stays.
  q_ref_.assign(static_cast<size_t>(states) * 5, 0.0f);
  std::vector<float> q_next(q_ref_.size());
  for (int h = 1; h <= horizon; ++h) {
    for (int s = 0; s < states; ++s) {
      const float* row = q_ref_.data() + s * 5;
      q_next[s * 5] = gamma * *std::max_element(row, row + 5);
      for (int mv = 0; mv < 4; ++mv) {
        const float* to = q_ref_.data() + next[s * 4 + mv] * 5;
        q_next[s * 5 + 1 + mv] = reward[s * 4 + mv] + gamma * *std::max_element(to, to + 5);
      }
    }
    std::swap(q_ref_, q_next);
  }
  // Exact: Q_h(s, nothing) = 0 (the episode ends); Q_h(s, move) = r + gamma * V_{h-1}(s');
  // V_0 = 0.
  q_.assign(static_cast<size_t>(horizon) * states * 5, 0.0f);
  std::vector<float> v(states, 0.0f), v_next(states);
  for (int h = 1; h <= horizon; ++h) {
    float* q = q_.data() + static_cast<size_t>(h - 1) * states * 5;
    for (int s = 0; s < states; ++s) {
      float best = 0.0f;
      for (int mv = 0; mv < 4; ++mv) {
        const float x = reward[s * 4 + mv] + gamma * v[next[s * 4 + mv]];
        q[s * 5 + 1 + mv] = x;
        best = std::max(best, x);
      }
      v_next[s] = best;
    }
    std::swap(v, v_next);
  }
}

std::span<const float> PreferenceEnv::action_values(int horizon) const {
  if (q_.empty()) solve();
  const int states = static_cast<int>(world_->layout.free_cells().size()) << object_cells_.size();
  return std::span<const float>(q_).subspan(
      (static_cast<size_t>(horizon - 1) * states + state()) * 5, 5);
}

std::span<const float> PreferenceEnv::reference_values() const {
  if (q_ref_.empty()) solve();
  return std::span<const float>(q_ref_).subspan(static_cast<size_t>(state()) * 5, 5);
}

Scene PreferenceEnv::scene() const {
  const Maze& m = world_->layout;
  const int n = m.size();
  Scene s = Scene::grid(n, n);
  for (int cell = 0; cell < n * n; ++cell)
    if (m.wall(cell)) {
      const float x = static_cast<float>(cell % n), y = static_cast<float>(cell / n);
      s.rect(x, y, x + 1, y + 1, {70, 70, 80}, '#');
    }
  for (size_t i = 0; i < object_cells_.size(); ++i)
    if (remaining_ >> i & 1)
      s.marker(object_features_[i], object_cells_[i] % n + 0.5f, object_cells_[i] / n + 0.5f, 0.35f,
               palette_color(object_features_[i]),
               static_cast<char>('0' + object_features_[i] % 10));
  s.circle(agent_ % n + 0.5f, agent_ / n + 0.5f, 0.22f, {250, 250, 250}, '@');
  s.circle(agent_ % n + 0.5f, agent_ / n + 0.5f, 0.12f, {20, 20, 20});
  std::string rewards;
  for (size_t i = 0; i < object_cells_.size(); ++i)
    if (remaining_ >> i & 1)
      rewards += fmt::format(" {}:{:+.2f}", object_features_[i], object_reward_[i]);
  s.caption = fmt::format("{} | step {} | objects (feature:reward){}",
                          task_space().describe(task()), elapsed(), rewards);
  return s;
}

nlohmann::json PreferenceEnv::describe() const {
  const int n = world_->layout.size();
  const auto pos = [n](int cell) { return nlohmann::json{{"row", cell / n}, {"col", cell % n}}; };
  nlohmann::json objects = nlohmann::json::array();
  for (size_t i = 0; i < object_cells_.size(); ++i) {
    auto o = pos(object_cells_[i]);
    o["feature"] = object_features_[i];
    o["reward"] = object_reward_[i];
    o["present"] = (remaining_ >> i & 1) != 0;
    objects.push_back(o);
  }
  return {{"grid_size", n},
          {"walls", world_->layout.rows()},
          {"weights", task().weights},
          {"objects", objects},
          {"agent", pos(agent_)}};
}

Action PreferenceExpert::act(const Env& env, std::span<float> values) const {
  const auto& e = env_cast<PreferenceEnv>(env, "the preference expert");
  const auto q =
      values_ == PreferenceValues::kExact ? e.action_values(e.steps_left()) : e.reference_values();
  if (!values.empty()) std::copy(q.begin(), q.end(), values.begin());
  // First maximum: ties go to the lower action, so "nothing" wins when nothing is worth it.
  return Action::discrete(static_cast<int>(std::max_element(q.begin(), q.end()) - q.begin()));
}

std::optional<double> PreferenceExpert::optimal_value(const Env& env) const {
  if (values_ == PreferenceValues::kReference) return std::nullopt;  // its success rate is checked
  const auto& e = env_cast<PreferenceEnv>(env, "the preference expert");
  const auto q = e.action_values(e.steps_left());
  return *std::max_element(q.begin(), q.end());
}

}  // namespace hc::envs::grid
