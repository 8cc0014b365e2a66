#include <gtest/gtest.h>

#include <set>

#include "base/error.h"
#include "tasks/task_space.h"

namespace hc::tasks {
namespace {

TaskSpace hyperteacher_like() { return TaskSpace::k_hot("module", 2, 8, 2); }

Splits split(const TaskSpace& s, Support support, double frac = 0.25, int hot = 0) {
  SplitSpec spec;
  spec.support = support;
  spec.frac_ood = frac;
  spec.train_hot = hot;
  return s.split(spec, 2023);
}

TEST(TaskSpace, CategoricalEnumeratesTheProduct) {
  const auto s = TaskSpace::categorical({{"a", {"x", "y"}}, {"b", {"0", "1", "2"}}});
  ASSERT_EQ(s.size(), 6);
  std::set<std::vector<int>> seen;
  for (int64_t id = 0; id < 6; ++id) {
    seen.insert(s.task(id).values);
    EXPECT_EQ(s.find(s.describe(s.task(id))), id);
    const auto z = s.latent(s.task(id));
    EXPECT_EQ(z.size(), 5u);
    EXPECT_EQ(z[s.task(id).values[0]] + z[2 + s.task(id).values[1]], 2.0f);
  }
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_EQ(s.find("b=2 a=y"), s.find("a=1 b=2"));
  EXPECT_THROW(s.find("a=z b=0"), EnvError);
  EXPECT_THROW(s.find("a=x"), EnvError);
  EXPECT_THROW(s.find("17"), EnvError);
}

TEST(TaskSpace, KHotCountsAndParsing) {
  const auto s = hyperteacher_like();
  EXPECT_EQ(s.size(), 36 * 36);  // 8 + 28 combinations per layer, two layers
  EXPECT_EQ(s.latent_dim(), 16);
  const int64_t id = s.find("modules=[1,4]+[7]");
  EXPECT_EQ(s.task(id).values, (std::vector<int>{0b10010, 0b10000000}));
  EXPECT_EQ(s.hotness(s.task(id)), 2);
  EXPECT_EQ(s.find(s.describe(s.task(id))), id);
  EXPECT_THROW(s.find("[1,2,3]+[0]"), EnvError);  // 3-hot is not in a max_hot = 2 space
  EXPECT_THROW(s.find("[1]"), EnvError);          // one group missing
  EXPECT_THROW(s.find("[9]+[0]"), EnvError);      // no module 9
}

// The sizes the reference implementation gives for 8 modules, 2 layers, 2-hot.
TEST(TaskSpace, SupportSizesOfTheHyperteacherSetting) {
  const auto s = hyperteacher_like();
  const auto random = split(s, Support::kRandom);
  EXPECT_EQ(random.ood.size(), 324u);
  EXPECT_EQ(random.train.size(), 972u);
  EXPECT_TRUE(s.covers_all_values(random.train));
  const auto nc = split(s, Support::kNonCompositional);
  EXPECT_EQ(nc.ood.size(), 288u);  // module 7 in the last layer: 8 of its 36 combinations x 36
  EXPECT_EQ(nc.train.size(), 1008u);
  const auto con = split(s, Support::kConnected);
  EXPECT_EQ(con.train.size(), 576u);  // (8 singles + 16 ring pairs)^2
  const auto dis = split(s, Support::kDisconnected);
  EXPECT_EQ(dis.train.size(), 104u);  // per half: 4^2 all-single + 6^2 all-pair tasks
  EXPECT_EQ(con.ood, dis.ood);        // shared OOD set: tasks in neither support
  // Both supports, per half: the 4^2 all-single tasks and the 5^2 tasks made of the 5 ring
  // pairs inside the half.
  EXPECT_EQ(con.ood.size(), 1296u - 576u - 104u + 2u * (16u + 25u));
}

TEST(TaskSpace, KHotSupportHoldsOutLargerCombinations) {
  const auto s = TaskSpace::k_hot("preference", 1, 8, 8);
  const auto k = split(s, Support::kKHot, 0.25, 3);
  EXPECT_EQ(k.train.size(), 92u);
  EXPECT_TRUE(k.ood.empty());
  size_t total = 0;
  for (const auto& [h, ids] : k.ood_by_hotness) {
    EXPECT_GT(h, 3);
    total += ids.size();
  }
  EXPECT_EQ(total, 255u - 92u);
}

TEST(TaskSpace, SplitsAreDeterministicAndSeedDependent) {
  const auto s = hyperteacher_like();
  SplitSpec spec;
  EXPECT_EQ(s.split(spec, 1).ood, s.split(spec, 1).ood);
  EXPECT_NE(s.split(spec, 1).ood, s.split(spec, 2).ood);
}

TEST(TaskSpace, ImpossibleSplitsAreConfigErrors) {
  const auto cat = TaskSpace::categorical({{"a", {"x", "y"}}, {"b", {"0", "1"}}});
  EXPECT_THROW(split(cat, Support::kConnected), ConfigError);
  EXPECT_THROW(split(cat, Support::kRandom, 0.9), ConfigError);  // coverage impossible
  EXPECT_THROW(split(cat, Support::kRandom, 1.0), ConfigError);
  EXPECT_THROW(TaskSpace::k_hot("m", 1, 8, 9), ConfigError);
  EXPECT_THROW(TaskSpace::k_hot("m", 4, 16, 16), ConfigError);  // too many tasks
}

TEST(TaskSpace, ValidateRejectsForeignTasks) {
  const auto s = hyperteacher_like();
  Task t = s.task(5);
  EXPECT_NO_THROW(s.validate(t));
  t.weights[0] = t.weights[0] == 0.0f ? 0.7f : 0.0f;  // weight on an inactive module, or none
  EXPECT_THROW(s.validate(t), EnvError);
  Task u = s.task(5);
  u.id = 6;
  EXPECT_THROW(s.validate(u), EnvError);
}

TEST(TaskSpace, ContinuousWeights) {
  const auto s = TaskSpace::k_hot("m", 1, 6, 3);
  Rng rng(3);
  for (int64_t id = 0; id < s.size(); ++id) {
    Task t = s.task(id);
    s.draw_weights(t, rng);
    EXPECT_NO_THROW(s.validate(t));
    for (int m = 0; m < 6; ++m)
      if (t.values[0] >> m & 1) EXPECT_TRUE(t.weights[m] >= 0.5f && t.weights[m] <= 1.0f);
  }
}

}  // namespace
}  // namespace hc::tasks
