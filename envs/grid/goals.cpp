#include "envs/grid/goals.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.h"

namespace hc::envs::grid {
namespace {

constexpr const char* kQuadrants[] = {"top_left", "top_right", "bottom_left", "bottom_right"};

TaskSpace make_space(const GoalsConfig& c) {
  const auto numbered = [](int n) {
    std::vector<std::string> v;
    for (int i = 0; i < n; ++i) v.push_back(std::to_string(i));
    return v;
  };
  return TaskSpace::categorical({
      {"quadrant", {kQuadrants, kQuadrants + 4}},
      {"interaction", numbered(c.num_interactions)},
      {"maze", numbered(c.num_mazes)},
      {"object", numbered(c.num_objects)},
  });
}

ObservationSpec make_obs_spec(const GoalsConfig& c) {
  std::vector<std::string> channels;
  for (int i = 0; i < c.num_objects; ++i) channels.push_back(fmt::format("object_{}", i));
  channels.push_back("wall");
  channels.push_back("agent");
  return ObservationSpec::grid(c.grid_size, c.grid_size, std::move(channels));
}

ActionSpec make_act_spec(const GoalsConfig& c) {
  std::vector<std::string> names(kMoveNames, kMoveNames + 4);
  for (int i = 0; i < c.num_interactions; ++i) names.push_back(fmt::format("interact_{}", i));
  return ActionSpec::actions(std::move(names));
}

}  // namespace

void GoalsConfig::validate(const ConfigReader& r) const {
  // Each maze must leave room for the goal, the agent and the distractors.
  const int cells = grid_size * grid_size;
  if (num_distractors + 2 > cells / 3)
    r.fail_value("num_distractors",
                 fmt::format("at most {} on a {}x{} grid", cells / 3 - 2, grid_size, grid_size),
                 std::to_string(num_distractors));
}

int GoalsWorld::quadrant(int cell) const {
  const int half = (config.grid_size + 1) / 2;  // the middle row/column belongs to the top/left
  const int r = cell / config.grid_size, c = cell % config.grid_size;
  return (r >= half ? 2 : 0) + (c >= half ? 1 : 0);
}

GoalsFamily::GoalsFamily(const Config& c)
    : EnvFamily(kName, make_space(c), c.split.spec(), c.split.seed,
                /*continuous_weights=*/false, c.demos, make_obs_spec(c), make_act_spec(c)),
      config_(c) {
  auto world = std::make_shared<GoalsWorld>();
  world->config = c;
  const int size = c.grid_size, channels = c.num_objects + 2;
  int longest = 0;
  for (int i = 0; i < c.num_mazes; ++i) {
    // A maze must offer every quadrant a goal cell with a start far enough away; the rare
    // maze that does not is replaced by the next one of its seed sequence.
    for (int attempt = 0;; ++attempt) {
      if (attempt == 100)
        throw ConfigError(fmt::format(
            "{}: no {}x{} maze with a start cell at distance >= {} from a goal in every quadrant "
            "(maze {})",
            kName, size, size, size, i));
      Maze maze = Maze::random(size, derive_seed(c.split.seed, {static_cast<uint64_t>(i),
                                                                static_cast<uint64_t>(attempt)}));
      std::array<std::vector<int>, 4> goals;
      std::vector<std::vector<int>> starts(maze.cells());
      for (int g : maze.free_cells()) {
        for (int s : maze.free_cells())
          if (maze.distance(s, g) >= size) starts[g].push_back(s);
        if (!starts[g].empty()) goals[world->quadrant(g)].push_back(g);
      }
      if (std::any_of(goals.begin(), goals.end(), [](const auto& v) { return v.empty(); }))
        continue;
      if (static_cast<int>(maze.free_cells().size()) < c.num_distractors + 2) continue;
      for (int g : maze.free_cells())
        for (int s : starts[g]) longest = std::max(longest, maze.distance(s, g));
      std::vector<float> obs(static_cast<size_t>(maze.cells()) * channels, 0.0f);
      for (int cell = 0; cell < maze.cells(); ++cell)
        if (maze.wall(cell)) obs[cell * channels + c.num_objects] = 1.0f;
      world->mazes.push_back(std::move(maze));
      world->goal_cells.push_back(std::move(goals));
      world->starts.push_back(std::move(starts));
      world->wall_obs.push_back(std::move(obs));
      break;
    }
  }
  if (c.max_steps < longest + 1)
    throw ConfigError(fmt::format(
        "{}: max_steps = {} is shorter than the longest expert demonstration ({} steps); "
        "expected max_steps >= {}",
        kName, c.max_steps, longest + 1, longest + 1));
  world_ = std::move(world);
}

std::unique_ptr<Env> GoalsFamily::make_env() const {
  return std::make_unique<GoalsEnv>(*this, world_);
}

std::unique_ptr<Expert> GoalsFamily::make_expert() const {
  return std::make_unique<GoalsExpert>(config_.discount);
}

std::vector<tasks::Subroutine> GoalsFamily::subroutines() const {
  // The expert only interacts once it stands on the goal, so the label tells the two phases
  // apart exactly: moves before the goal is reached, one interaction after.
  const auto moves = static_cast<int32_t>(kMoves.size());
  tasks::Subroutine navigation{
      "navigation", "the moves of the shortest path to the goal object (every row but the last)"};
  navigation.counts_row = [moves](const Dataset& d, int64_t r) { return d.labels[r] < moves; };
  tasks::Subroutine interaction{
      "interaction", "the goal interaction, performed on the goal object's cell (the last row)"};
  interaction.counts_row = [moves](const Dataset& d, int64_t r) { return d.labels[r] >= moves; };
  return {navigation, interaction};
}

GoalsEnv::GoalsEnv(const EnvFamily& family, std::shared_ptr<const GoalsWorld> world)
    : Env(family, world->config.max_steps), world_(std::move(world)) {}

void GoalsEnv::on_reset(Rng& rng, const Task& task) {
  const GoalsConfig& c = world_->config;
  const int quadrant = task.values[0];
  interaction_ = task.values[1];
  maze_ = task.values[2];
  goal_type_ = task.values[3];
  const Maze& m = world_->mazes[maze_];
  const auto& goals = world_->goal_cells[maze_][quadrant];
  goal_cell_ = goals[rng.uniform_int(goals.size())];
  const auto& starts = world_->starts[maze_][goal_cell_];
  agent_ = starts[rng.uniform_int(starts.size())];

  // Distractors: types other than the goal's (with replacement), in distinct free cells that
  // are neither the goal's nor the agent's (partial Fisher-Yates over the free cells).
  object_cells_.assign(1, goal_cell_);
  object_types_.assign(1, goal_type_);
  scratch_ = m.free_cells();
  std::erase_if(scratch_, [&](int cell) { return cell == goal_cell_ || cell == agent_; });
  for (int i = 0; i < c.num_distractors; ++i) {
    const size_t j = i + rng.uniform_int(scratch_.size() - i);
    std::swap(scratch_[i], scratch_[j]);
    object_cells_.push_back(scratch_[i]);
    object_types_.push_back(
        (goal_type_ + 1 + static_cast<int>(rng.uniform_int(c.num_objects - 1))) % c.num_objects);
  }

  // Observation offsets of the object bits, so that observe() is a copy of the maze's shared
  // wall plane (hot in cache) plus a few stores.
  const int channels = world_->channels();
  object_offsets_.clear();
  for (size_t i = 0; i < object_cells_.size(); ++i)
    object_offsets_.push_back(object_cells_[i] * channels + object_types_[i]);
}

StepResult GoalsEnv::on_step(const Action& a) {
  StepResult r;
  if (a.index < 4) {
    agent_ = maze().next(agent_, a.index);
  } else if (a.index - 4 == interaction_ && agent_ == goal_cell_) {
    r.reward = 1.0f;
    r.terminated = true;
    r.end = EndReason::kSolved;
  }
  return r;
}

void GoalsEnv::observe(std::span<float> out) const {
  const std::vector<float>& walls = world_->wall_obs[maze_];
  std::memcpy(out.data(), walls.data(), walls.size() * sizeof(float));
  for (int offset : object_offsets_) out[offset] = 1.0f;
  const int channels = world_->channels();
  out[agent_ * channels + channels - 1] = 1.0f;
}

Scene GoalsEnv::scene() const {
  const GoalsConfig& c = world_->config;
  const int n = c.grid_size;
  Scene s = Scene::grid(n, n);
  for (int cell = 0; cell < n * n; ++cell) {
    const float x = static_cast<float>(cell % n), y = static_cast<float>(cell / n);
    if (maze().wall(cell)) s.rect(x, y, x + 1, y + 1, {70, 70, 80}, '#');
  }
  // Object types differ in shape and colour; distractors first so that the goal, drawn larger
  // with a ring, is on top when they share a cell.
  for (size_t i = object_cells_.size(); i-- > 0;) {
    const int cell = object_cells_[i];
    const float x = cell % n + 0.5f, y = cell / n + 0.5f;
    const char glyph = static_cast<char>((i == 0 ? 'A' : 'a') + object_types_[i]);
    if (i == 0) s.circle(x, y, 0.47f, {30, 30, 30});
    s.marker(object_types_[i], x, y, i == 0 ? 0.38f : 0.3f, palette_color(object_types_[i]), glyph);
  }
  s.circle(agent_ % n + 0.5f, agent_ / n + 0.5f, 0.22f, {250, 250, 250}, '@');
  s.circle(agent_ % n + 0.5f, agent_ / n + 0.5f, 0.12f, {20, 20, 20});
  s.caption = fmt::format("{} | step {}", task_space().describe(task()), elapsed());
  return s;
}

nlohmann::json GoalsEnv::describe() const {
  const int n = world_->config.grid_size;
  const auto pos = [n](int cell) { return nlohmann::json{{"row", cell / n}, {"col", cell % n}}; };
  nlohmann::json objects = nlohmann::json::array();
  for (size_t i = 0; i < object_cells_.size(); ++i) {
    auto o = pos(object_cells_[i]);
    o["type"] = object_types_[i];
    o["goal"] = i == 0;
    objects.push_back(o);
  }
  return {{"grid_size", n},
          {"maze", maze_},
          {"walls", maze().rows()},
          {"goal", pos(goal_cell_)},
          {"goal_object", goal_type_},
          {"interaction", interaction_},
          {"objects", objects},
          {"agent", pos(agent_)}};
}

Action GoalsExpert::act(const Env& env, std::span<float> values) const {
  const auto& e = env_cast<GoalsEnv>(env, "the goals expert");
  const Maze& m = e.maze();
  const int goal = e.goal_cell(), agent = e.agent(), d = m.distance(agent, goal);
  if (!values.empty()) {
    // Q(move) = gamma * V(next), V(cell) = gamma^distance (the interaction then pays 1).
    for (int a = 0; a < 4; ++a)
      values[a] = static_cast<float>(std::pow(discount_, 1 + m.distance(m.next(agent, a), goal)));
    for (size_t a = 4; a < values.size(); ++a)
      values[a] = static_cast<float>(
          static_cast<int>(a) - 4 == e.interaction() && d == 0 ? 1.0 : std::pow(discount_, 1 + d));
  }
  if (d == 0) return Action::discrete(4 + e.interaction());
  for (int a = 0; a < 4; ++a)
    if (m.distance(m.next(agent, a), goal) == d - 1) return Action::discrete(a);
  throw EnvError("the goals expert: the goal is unreachable");  // mazes are connected
}

std::optional<double> GoalsExpert::optimal_value(const Env& env) const {
  const auto& e = env_cast<GoalsEnv>(env, "the goals expert");
  return std::pow(discount_, e.maze().distance(e.agent(), e.goal_cell()));
}

}  // namespace hc::envs::grid
