#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "envs/grid/preference.h"

namespace hc::envs::grid {
namespace {

// Optimal discounted return by exhaustive search over every action sequence: an independent
// check of the value iteration.
struct BruteForce {
  const Maze& maze;
  std::vector<int> cells;
  std::vector<float> rewards;
  double gamma;
  double value(int agent, unsigned remaining, int steps_left) const {
    double best = 0.0;  // "nothing" ends the episode with 0
    if (steps_left == 0) return best;
    for (int mv = 0; mv < 4; ++mv) {
      const int next = maze.next(agent, mv);
      unsigned rem = remaining;
      double r = 0.0;
      for (size_t i = 0; i < cells.size(); ++i)
        if ((rem >> i & 1) && cells[i] == next) {
          rem &= ~(1u << i);
          r = rewards[i];
        }
      best = std::max(best, r + gamma * value(next, rem, steps_left - 1));
    }
    return best;
  }
  // The reference's values: `backups` Bellman backups in which "nothing" keeps the agent in
  // place, whatever the number of steps left.
  double reference(int agent, unsigned remaining, int backups) const {
    if (backups == 0) return 0.0;
    double best = gamma * reference(agent, remaining, backups - 1);
    for (int mv = 0; mv < 4; ++mv) best = std::max(best, move(agent, remaining, mv, backups));
    return best;
  }
  double move(int agent, unsigned remaining, int mv, int backups) const {
    const int next = maze.next(agent, mv);
    double r = 0.0;
    for (size_t i = 0; i < cells.size(); ++i)
      if ((remaining >> i & 1) && cells[i] == next) {
        remaining &= ~(1u << i);
        r = rewards[i];
      }
    return r + gamma * reference(next, remaining, backups - 1);
  }
};

class Preference : public ::testing::Test {
 protected:
  PreferenceFamily family_{PreferenceConfig{}};
  std::unique_ptr<Env> env_ = family_.make_env();
  std::unique_ptr<Expert> expert_ = family_.make_expert();
  PreferenceEnv& env() { return static_cast<PreferenceEnv&>(*env_); }
  BruteForce brute_force(unsigned& remaining, int& agent) {
    const auto d = env_->describe();
    BruteForce bf{family_.world().layout, {}, {}, 0.9};
    remaining = 0;
    for (size_t i = 0; i < d["objects"].size(); ++i) {
      const auto& o = d["objects"][i];
      bf.cells.push_back(o["row"].get<int>() * 7 + o["col"].get<int>());
      bf.rewards.push_back(env().object_reward(static_cast<int>(i)));
      remaining |= 1u << i;
    }
    agent = d["agent"]["row"].get<int>() * 7 + d["agent"]["col"].get<int>();
    return bf;
  }
};

// The same family with exact finite-horizon values.
class PreferenceExact : public Preference {
 protected:
  PreferenceExact() {
    PreferenceConfig c;
    c.value_targets = PreferenceValues::kExact;
    exact_ = std::make_unique<PreferenceFamily>(c);
    env_ = exact_->make_env();
    expert_ = exact_->make_expert();
  }
  std::unique_ptr<PreferenceFamily> exact_;
};

TEST_F(Preference, HasThePaperTaskSpace) {
  const auto& s = family_.splits();
  EXPECT_EQ(family_.task_space().size(), 255);    // every non-empty combination of 8 modules
  EXPECT_EQ(s.train.size() + s.ood.size(), 92u);  // 8 + 28 + 56 combinations of <= 3
  EXPECT_EQ(s.ood.size(), 23u);
  for (int h = 4; h <= 8; ++h) EXPECT_EQ(s.ood_by_hotness.count(h), 1u);
  EXPECT_EQ(s.ood_by_hotness.at(4).size(), 70u);
  EXPECT_EQ(family_.input_dim(), 7 * 7 * 10);
  EXPECT_EQ(family_.output_dim(), 5);
}

TEST_F(PreferenceExact, ValueIterationMatchesExhaustiveSearch) {
  const auto& space = family_.task_space();
  for (int64_t id : {0, 9, 40, 100, 254}) {
    for (uint64_t seed = 0; seed < 4; ++seed) {
      const Task task = family_.instance(space.task(id), seed);
      env_->reset(seed, task);
      unsigned remaining = 0;
      int agent = 0;
      const BruteForce bf = brute_force(remaining, agent);
      const double want = bf.value(agent, remaining, 8);
      EXPECT_NEAR(*expert_->optimal_value(*env_), want, 1e-5) << "task " << id << " seed " << seed;
      const Episode ep = run_expert(*env_, *expert_, seed, task);
      EXPECT_NEAR(ep.total_return(0.9), want, 1e-5);
      EXPECT_TRUE(ep.success) << "task " << id << " seed " << seed;
    }
  }
}

TEST_F(Preference, ReferenceValuesMatchExhaustiveBackups) {
  const auto& space = family_.task_space();
  EXPECT_FALSE(expert_->optimal_value(*env_).has_value());  // judged by its success rate
  std::vector<float> q(5);
  for (int64_t id : {0, 9, 40, 100, 254}) {
    for (uint64_t seed = 0; seed < 3; ++seed) {
      const Task task = family_.instance(space.task(id), seed);
      env_->reset(seed, task);
      unsigned remaining = 0;
      int agent = 0;
      const BruteForce bf = brute_force(remaining, agent);
      expert_->act(*env_, q);
      // The same 8 backups after a step: one Q-function for every step of the episode.
      EXPECT_NEAR(q[0], 0.9 * bf.reference(agent, remaining, 7), 1e-5);
      for (int mv = 0; mv < 4; ++mv)
        EXPECT_NEAR(q[1 + mv], bf.move(agent, remaining, mv, 8), 1e-5)
            << "task " << id << " seed " << seed << " move " << mv;
    }
  }
}

TEST_F(Preference, PickingUpAnObjectPaysTheWeightedPreferenceAndRemovesIt) {
  const auto& space = family_.task_space();
  const Task task = family_.instance(space.task(50), 3);
  const auto& world = family_.world();
  for (uint64_t seed = 0; seed < 20; ++seed) {
    env_->reset(seed, task);
    const auto d = env_->describe();
    for (size_t i = 0; i < d["objects"].size(); ++i) {
      const int f = d["objects"][i]["feature"].get<int>();
      double want = 0.0;
      for (int p = 0; p < 8; ++p) want += task.weights[p] * world.modules[p * 8 + f];
      EXPECT_NEAR(env().object_reward(static_cast<int>(i)), want, 1e-5);
    }
    // Follow the expert; every reward must be the reward of an object that then disappears.
    int picked = 0;
    while (!env_->done()) {
      const auto before = env_->observation();
      const auto r = env_->step(expert_->act(*env_, {}));
      if (r.reward != 0.0f) {
        ++picked;
        const auto after = env_->observation();
        float objects_before = 0, objects_after = 0;
        for (int cell = 0; cell < 49; ++cell)
          for (int f = 0; f < 8; ++f) {
            objects_before += before[cell * 10 + f];
            objects_after += after[cell * 10 + f];
          }
        EXPECT_EQ(objects_after, objects_before - 1);
      }
    }
    EXPECT_LE(picked, 4);
  }
}

TEST_F(PreferenceExact, NothingEndsTheEpisodeAndTheLimitTruncates) {
  const Task& task = family_.task_space().task(0);
  env_->reset(0, task);
  auto r = env_->step(0);
  EXPECT_TRUE(r.terminated);
  EXPECT_EQ(r.end, EndReason::kStopped);
  env_->reset(0, task);
  for (int i = 0; i < 8; ++i) r = env_->step(1 + i % 2);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.end, EndReason::kTimeLimit);
  // Success means the optimal return: stopping at once succeeds exactly when nothing is worth
  // collecting.
  env_->reset(0, task);
  const double best = *expert_->optimal_value(*env_);
  r = env_->step(0);
  EXPECT_EQ(r.success, best <= 1e-4);
}

TEST_F(Preference, ContinuousWeightsLieOnTheShiftedSimplex) {
  const auto& space = family_.task_space();
  for (int64_t id = 0; id < space.size(); id += 7) {
    const Task t = family_.instance(space.task(id), static_cast<uint64_t>(id));
    for (int m = 0; m < 8; ++m) {
      if (space.task(id).values[0] >> m & 1) {
        EXPECT_GE(t.weights[m], 0.5f);
        EXPECT_LE(t.weights[m], 1.0f);
      } else {
        EXPECT_EQ(t.weights[m], 0.0f);
      }
    }
    EXPECT_EQ(family_.task_space().latent(t), t.weights);
  }
}

TEST_F(Preference, DatasetTargetsAreTheActionValues) {
  const TaskData d = family_.make_task_data(family_.task_space().task(12), 4);
  EXPECT_EQ(d.support.episodes, 16);
  EXPECT_EQ(d.query.episodes, 16);
  for (int64_t i = 0; i < d.support.rows; ++i) {
    const float* q = d.support.targets.data() + i * 5;
    EXPECT_EQ(std::max_element(q, q + 5) - q, d.support.labels[i]);
    // "Nothing" keeps the agent in place: worth the discounted value of the same state after one
    // backup fewer, which lies between 0 (staying forever) and the discounted value itself.
    EXPECT_GE(q[0], 0.0f);
    EXPECT_LE(q[0], 0.9f * *std::max_element(q, q + 5) * (1 + 1e-6f));
  }
}

TEST_F(PreferenceExact, DatasetTargetsAreTheActionValues) {
  const TaskData d = exact_->make_task_data(exact_->task_space().task(12), 4);
  for (int64_t i = 0; i < d.support.rows; ++i) {
    const float* q = d.support.targets.data() + i * 5;
    EXPECT_EQ(std::max_element(q, q + 5) - q, d.support.labels[i]);
    EXPECT_EQ(q[0], 0.0f);  // "nothing" ends the episode: worth exactly 0
  }
}

}  // namespace
}  // namespace hc::envs::grid
