#include <gtest/gtest.h>

#include <set>

#include "base/error.h"
#include "envs/grid/goals.h"

namespace hc::envs::grid {
namespace {

class Goals : public ::testing::Test {
 protected:
  GoalsFamily family_{GoalsConfig{}};
  const GoalsWorld& world_ = family_.world();
  std::unique_ptr<Env> env_ = family_.make_env();
  std::unique_ptr<Expert> expert_ = family_.make_expert();
  GoalsEnv& env() { return static_cast<GoalsEnv&>(*env_); }
};

TEST_F(Goals, HasThePaperTaskSpace) {
  const auto& space = family_.task_space();
  EXPECT_EQ(space.size(), 200);
  EXPECT_EQ(family_.splits().train.size(), 150u);
  EXPECT_EQ(family_.splits().ood.size(), 50u);
  EXPECT_EQ(family_.input_dim(), 11 * 11 * 7);
  EXPECT_EQ(family_.output_dim(), 6);
  EXPECT_EQ(space.latent_dim(), 4 + 2 + 5 + 5);
}

TEST_F(Goals, ResetFollowsThePlacementRules) {
  const auto& space = family_.task_space();
  for (int64_t id = 0; id < space.size(); ++id) {
    const Task& task = space.task(id);
    for (uint64_t seed = 0; seed < 5; ++seed) {
      env_->reset(seed, task);
      const Maze& m = env().maze();
      EXPECT_EQ(world_.quadrant(env().goal_cell()), task.values[0]);
      EXPECT_FALSE(m.wall(env().goal_cell()));
      EXPECT_GE(m.distance(env().agent(), env().goal_cell()), 11);
      const auto obs = env_->observation();
      // One agent, one goal of the task's type, four distractors of other types in distinct
      // free cells other than the goal's and the agent's.
      int agents = 0, objects = 0, goal_type_at_goal = 0;
      std::set<int> object_cells;
      for (int cell = 0; cell < 121; ++cell) {
        agents += obs[cell * 7 + 6] == 1.0f;
        EXPECT_EQ(obs[cell * 7 + 5], m.wall(cell) ? 1.0f : 0.0f);
        for (int k = 0; k < 5; ++k)
          if (obs[cell * 7 + k] == 1.0f) {
            ++objects;
            object_cells.insert(cell);
            EXPECT_FALSE(m.wall(cell));
            EXPECT_NE(cell, env().agent());
            if (cell == env().goal_cell())
              goal_type_at_goal += k == task.values[3];
            else
              EXPECT_NE(k, task.values[3]) << "a distractor has the goal's type";
          }
      }
      EXPECT_EQ(agents, 1);
      EXPECT_EQ(objects, 5);
      EXPECT_EQ(object_cells.size(), 5u);
      EXPECT_EQ(goal_type_at_goal, 1);
    }
  }
}

TEST_F(Goals, ExpertFollowsTheShortestPathThenInteracts) {
  const auto& space = family_.task_space();
  for (int64_t id = 0; id < space.size(); ++id) {
    for (uint64_t seed = 0; seed < 5; ++seed) {
      env_->reset(seed, space.task(id));
      const int bfs = env().maze().distance(env().agent(), env().goal_cell());
      const Episode ep = run_expert(*env_, *expert_, seed, space.task(id));
      ASSERT_EQ(ep.steps(), bfs + 1) << "task " << id << " seed " << seed;
      EXPECT_TRUE(ep.terminated);
      EXPECT_EQ(ep.rewards.back(), 1.0f);
      EXPECT_EQ(ep.actions.back().index, 4 + space.task(id).values[1]);
      EXPECT_TRUE(ep.success);
      EXPECT_EQ(ep.end, EndReason::kSolved);
      for (int s = 0; s + 1 < ep.steps(); ++s) EXPECT_LT(ep.actions[s].index, 4);
    }
  }
}

TEST_F(Goals, DynamicsOfWallsAndInteractions) {
  const Task& task = family_.task_space().task(0);
  env_->reset(1, task);
  const Maze& m = env().maze();
  // Walk into walls or the edge: the agent never enters a wall.
  for (int a = 0; a < 4; ++a)
    for (int i = 0; i < 11; ++i) {
      const int before = env().agent();
      env_->step(a);
      EXPECT_EQ(env().agent(), m.next(before, a));
      EXPECT_FALSE(m.wall(env().agent()));
    }
  // Walk to the goal with the expert's moves, then try the wrong and the right interaction.
  while (env().agent() != env().goal_cell()) env_->step(expert_->act(*env_, {}));
  const int right = 4 + task.values[1], wrong = 4 + (1 - task.values[1]);
  auto r = env_->step(wrong);
  EXPECT_EQ(r.reward, 0.0f);
  EXPECT_FALSE(r.done());
  r = env_->step(right);
  EXPECT_EQ(r.reward, 1.0f);
  EXPECT_TRUE(r.terminated);
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.end, EndReason::kSolved);
  EXPECT_THROW(env_->step(0), EnvError);
}

TEST_F(Goals, InteractingAwayFromTheGoalDoesNothing) {
  const Task& task = family_.task_space().task(3);
  env_->reset(2, task);
  const auto before = env_->observation();
  const auto r = env_->step(4 + task.values[1]);
  EXPECT_EQ(r.reward, 0.0f);
  EXPECT_FALSE(r.done());
  EXPECT_EQ(env_->observation(), before);
}

TEST_F(Goals, TruncatesAtTheTimeLimit) {
  GoalsConfig c;
  c.max_steps = 60;
  GoalsFamily short_family(c);
  auto env = short_family.make_env();
  env->reset(0, short_family.task_space().task(0));
  StepResult r;
  for (int i = 0; i < 60; ++i) r = env->step(4 + 1 - short_family.task_space().task(0).values[1]);
  EXPECT_TRUE(r.truncated);
  EXPECT_FALSE(r.terminated);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.end, EndReason::kTimeLimit);
  EXPECT_THROW(env->step(0), EnvError);
}

TEST_F(Goals, RejectsATimeLimitShorterThanTheLongestDemonstration) {
  GoalsConfig c;
  c.max_steps = 5;
  EXPECT_THROW(GoalsFamily{c}, ConfigError);
}

TEST_F(Goals, MazesDependOnTheSeed) {
  GoalsConfig c;
  c.split.seed = 7;
  GoalsFamily other(c);
  EXPECT_NE(other.world().mazes[0].rows(), world_.mazes[0].rows());
  EXPECT_EQ(GoalsFamily(GoalsConfig{}).world().mazes[0].rows(), world_.mazes[0].rows());
}

TEST_F(Goals, NonCompositionalSupportNeverTrainsTheLastQuadrant) {
  GoalsConfig c;
  c.split.support = tasks::Support::kNonCompositional;
  GoalsFamily f(c);
  for (int64_t id : f.splits().train) EXPECT_NE(f.task_space().task(id).values[0], 3);
  for (int64_t id : f.splits().ood) EXPECT_EQ(f.task_space().task(id).values[0], 3);
  EXPECT_EQ(f.splits().ood.size(), 50u);
}

// Every demonstration ends with the goal interaction and moves before it; the subroutines split
// exactly there, on support and query sets alike, for every task.
TEST_F(Goals, SubroutinesSplitEachDemonstrationIntoMovesAndTheFinalInteraction) {
  const std::vector<tasks::Subroutine> subs = family_.subroutines();
  ASSERT_EQ(subs.size(), 2u);
  EXPECT_EQ(subs[0].name, "navigation");
  EXPECT_EQ(subs[1].name, "interaction");
  const auto& space = family_.task_space();
  for (int64_t id = 0; id < space.size(); id += 7) {
    const Task& task = space.task(id);
    EXPECT_TRUE(subs[0].uses_task(task));
    EXPECT_TRUE(subs[1].uses_task(task));
    const tasks::TaskData data = family_.make_task_data(task, 100 + id);
    for (const tasks::Dataset* d : {&data.support, &data.query}) {
      for (int64_t r = 0; r < d->rows; ++r) {
        const bool last = r + 1 == d->rows || d->episode[r + 1] != d->episode[r];
        EXPECT_EQ(subs[1].counts_row(*d, r), last) << "task " << id << " row " << r;
        EXPECT_EQ(subs[0].counts_row(*d, r), !last) << "task " << id << " row " << r;
        if (last) {
          EXPECT_EQ(d->labels[r], 4 + task.values[1]);
        }
      }
      tasks::Dataset nav = *d, act = *d;
      EXPECT_EQ(subs[0].select_rows(nav), d->rows - d->episodes);
      EXPECT_EQ(subs[1].select_rows(act), d->episodes);
      for (int64_t r = 0; r < d->rows; ++r) EXPECT_EQ(nav.mask[r] + act.mask[r], 1.0f);
    }
  }
}

}  // namespace
}  // namespace hc::envs::grid
