// compositional_goals: reach a goal object in a maze and perform the right interaction on it.
//
// Description   An 11x11 gridworld with random inner walls. A task combines four hidden
//               factors; the agent must infer them from one demonstration.
// Factors       quadrant of the goal (4) x interaction that completes the task (2) x maze (5) x
//               type of the goal object (5): 200 tasks.
// Observation   grid x grid x (objects + 2) one-hot floats, row-major (row, column, channel):
//               channels 0..objects-1 mark object types, then walls, then the agent.
// Actions       up, right, down, left, then one action per interaction. Moving into a wall or
//               off the grid leaves the agent in place; objects do not block.
// Reward        1 when the agent performs the task's interaction on the goal object's cell.
// Termination   on that reward; truncated after max_steps (default grid^2 - 1 = 120).
// Expert        breadth-first-search shortest path to the goal, ties broken in action order
//               (up, right, down, left), then the goal interaction.
// Splits        random (frac_ood 0.25, every factor value still trained) or
//               non_compositional (the bottom-right quadrant is never trained).
// Subroutines   navigation (the move rows of every demonstration) and interaction (its last
//               row), for the structural compositionality probe.
#pragma once

#include <memory>
#include <vector>

#include "base/config.h"
#include "envs/core/env_family.h"
#include "envs/grid/maze.h"

namespace hc::envs::grid {

struct GoalsConfig {
  tasks::SplitConfig split;
  int grid_size = 11;
  int num_mazes = 5;
  int num_objects = 5;
  int num_interactions = 2;
  int num_distractors = 4;
  int max_steps = 120;
  double discount = 0.9;
  DemoConfig demos;

  template <class V>
  void fields(V& v) {
    split.fields(v, {tasks::Support::kRandom, tasks::Support::kNonCompositional});
    v("grid_size", grid_size, "side of the square grid in cells", odd() && in_range(5, 31));
    v("num_mazes", num_mazes, "number of random mazes (values of the maze factor)",
      in_range(1, 64));
    v("num_objects", num_objects, "number of object types (values of the object factor)",
      in_range(2, 16));
    v("num_interactions", num_interactions, "number of interaction actions", in_range(1, 8));
    v("num_distractors", num_distractors, "objects placed besides the goal", in_range(0, 32));
    v("max_steps", max_steps, "time limit of an episode in steps", in_range(1, 100000));
    v("discount", discount, "discount of returns and action values", in_range(0.01, 1.0));
    demos.fields(v);
  }
  void validate(const ConfigReader& r) const;
};

// Read-only data shared by every environment of a family: mazes and, per maze and goal cell,
// the start cells far enough from it.
struct GoalsWorld {
  GoalsConfig config;
  std::vector<Maze> mazes;
  // goal_cells[maze][quadrant]: free cells of the quadrant with at least one far start cell.
  std::vector<std::array<std::vector<int>, 4>> goal_cells;
  // starts[maze][cell]: free cells at shortest-path distance >= grid_size from cell.
  std::vector<std::vector<std::vector<int>>> starts;
  // wall_obs[maze]: the observation with only the wall channel set.
  std::vector<std::vector<float>> wall_obs;
  int channels() const { return config.num_objects + 2; }
  int quadrant(int cell) const;
};

class GoalsEnv : public Env {
 public:
  GoalsEnv(const EnvFamily& family, std::shared_ptr<const GoalsWorld> world);

  void observe(std::span<float> out) const override;
  Scene scene() const override;
  nlohmann::json describe() const override;

  const Maze& maze() const { return world_->mazes[maze_]; }
  int agent() const { return agent_; }
  int goal_cell() const { return goal_cell_; }
  int interaction() const { return interaction_; }

 protected:
  void on_reset(Rng& rng, const Task& task) override;
  StepResult on_step(const Action& a) override;

 private:
  std::shared_ptr<const GoalsWorld> world_;
  int maze_ = 0, goal_cell_ = 0, goal_type_ = 0, interaction_ = 0, agent_ = 0;
  std::vector<int> object_cells_, object_types_;  // goal first, then distractors
  std::vector<int> object_offsets_;               // observation index of each object's bit
  std::vector<int> scratch_;
};

class GoalsExpert : public Expert {
 public:
  explicit GoalsExpert(double discount) : discount_(discount) {}
  Action act(const Env& env, std::span<float> values) const override;
  std::optional<double> optimal_value(const Env& env) const override;

 private:
  double discount_;
};

class GoalsFamily : public EnvFamily {
 public:
  static constexpr const char* kName = "compositional_goals";
  static constexpr const char* kSummary = "gridworld: reach a goal object in a maze, then interact";
  using Config = GoalsConfig;
  explicit GoalsFamily(const Config& config);

  TargetKind target_kind() const override { return TargetKind::kLabels; }
  std::unique_ptr<Env> make_env() const override;
  std::unique_ptr<Expert> make_expert() const override;
  double discount() const override { return config_.discount; }
  // navigation (the move rows) and interaction (the final interaction row).
  std::vector<tasks::Subroutine> subroutines() const override;
  const GoalsWorld& world() const { return *world_; }

 protected:
  YAML::Node config_fields() const override { return write_config(config_); }

 private:
  Config config_;
  std::shared_ptr<const GoalsWorld> world_;
};

}  // namespace hc::envs::grid
