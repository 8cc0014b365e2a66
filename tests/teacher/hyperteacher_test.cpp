#include "teacher/hyperteacher.h"

#include "base/error.h"
#include "families/registry.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace hc::teacher {
namespace {

// A task with binary weights: `layer0` and `layer1` are module bitmasks.
tasks::Task code(unsigned layer0, unsigned layer1, int modules = 8) {
  tasks::Task t;
  t.values = {static_cast<int>(layer0), static_cast<int>(layer1)};
  t.weights.assign(2 * modules, 0.0f);
  for (int m = 0; m < modules; ++m) {
    t.weights[m] = static_cast<float>(layer0 >> m & 1);
    t.weights[modules + m] = static_cast<float>(layer1 >> m & 1);
  }
  return t;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float d = 0.0f;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

TEST(Hyperteacher, ReferenceGeneratorMapsEveryCodeEntryToEveryLayer) {
  const HyperteacherFamily f{HyperteacherConfig{}};  // chunking: false, as the reference
  std::vector<float> a, b;
  // Changing only the first layer's selection changes the second generated layer too.
  f.generated_layer(code(0b1, 0b10), 1, a);
  f.generated_layer(code(0b100, 0b10), 1, b);
  EXPECT_GT(max_abs_diff(a, b), 0.1f);
  // The map is linear in the code: W(z1 + z2) = W(z1) + W(z2), up to float rounding of sums of
  // a few unit-variance terms.
  std::vector<float> sum, one, two;
  for (int l = 0; l < 2; ++l) {
    f.generated_layer(code(0b11, 0b1000), l, sum);
    f.generated_layer(code(0b01, 0b1000), l, one);
    f.generated_layer(code(0b10, 0), l, two);
    for (size_t i = 0; i < sum.size(); ++i) EXPECT_NEAR(sum[i], one[i] + two[i], 1e-5f);
  }
}

TEST(Hyperteacher, ChunkedGeneratorSharesOneBankAcrossLayers) {
  HyperteacherConfig c;
  c.chunking = true;
  const HyperteacherFamily f{c};
  std::vector<float> a, b;
  // Each layer depends on its own selection only ...
  f.generated_layer(code(0b1, 0b10), 1, a);
  f.generated_layer(code(0b100, 0b10), 1, b);
  EXPECT_EQ(a, b);
  // ... and the same module selected in either layer gives the same matrix.
  f.generated_layer(code(0b1000, 0), 0, a);
  f.generated_layer(code(0, 0b1000), 1, b);
  EXPECT_EQ(a, b);
}

TEST(Hyperteacher, HotnessSetsHoldEveryExactlyHHotUntrainedTask) {
  const HyperteacherFamily f{HyperteacherConfig{}};
  const auto& s = f.splits();
  const auto& space = f.task_space();
  EXPECT_EQ(space.size(), 255 * 255);      // every combination of 1..8 of 8 modules, per layer
  ASSERT_EQ(s.ood_by_hotness.size(), 4u);  // h = 1, 2, 4, 8
  const auto exactly = [&](int64_t id, int h) {
    for (int mask : space.task(id).values)
      if (std::popcount(static_cast<unsigned>(mask)) != h) return false;
    return true;
  };
  // Above the trained hotness: every task, (8 choose h)^2 of them.
  EXPECT_EQ(s.ood_by_hotness.at(4).size(), 70u * 70u);
  EXPECT_EQ(s.ood_by_hotness.at(8).size(), 1u);
  // Up to it: the held-out tasks of that hotness (random support: a quarter of 1,296 held out).
  for (int h : {1, 2}) {
    size_t want = 0;
    for (int64_t id : s.ood) want += exactly(id, h);
    EXPECT_EQ(s.ood_by_hotness.at(h).size(), want) << "hotness " << h;
    EXPECT_GT(want, 0u) << "hotness " << h;
    for (int64_t id : s.ood_by_hotness.at(h)) EXPECT_TRUE(exactly(id, h));
  }
}

TEST(Hyperteacher, ContinuousWeightsKeepSingleModulesRandom) {
  HyperteacherConfig c;
  c.continuous = true;
  const HyperteacherFamily f{c};
  // A task with one module per layer: dividing by the sum plus one leaves the weight random.
  int64_t single = -1;
  for (int64_t id = 0; id < f.task_space().size() && single < 0; ++id)
    if (std::popcount(static_cast<unsigned>(f.task_space().task(id).values[0])) == 1 &&
        std::popcount(static_cast<unsigned>(f.task_space().task(id).values[1])) == 1)
      single = id;
  ASSERT_GE(single, 0);
  std::vector<float> seen;
  for (uint64_t seed = 0; seed < 8; ++seed) {
    const tasks::Task t = f.instance(f.task_space().task(single), seed);
    for (float w : t.weights)
      if (w != 0.0f) {
        EXPECT_GT(w, 0.5f);
        EXPECT_LT(w, 1.0f);
        seen.push_back(w);
      }
  }
  ASSERT_EQ(seen.size(), 16u);
  EXPECT_NE(seen[0], seen[2]);
}

TEST(Hyperteacher, OversizedTaskSpacesAreRefusedNamingTheKey) {
  // 16 modules, up to 16 per layer in 2 layers: 65,535^2 tasks.
  const YAML::Node section =
      YAML::Load("{name: hyperteacher, num_modules: 16, num_hot: 2, max_hot: 16}");
  try {
    families::make_family(section, "big.yaml");
    ADD_FAILURE() << "an oversized task space was accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("big.yaml"), std::string::npos) << what;
    EXPECT_NE(what.find("max_hot"), std::string::npos) << what;
  }
}

// module_m selects exactly the tasks that use module m alone in every generated layer: one task
// per module, whatever the number of generated layers, and every row of it.
TEST(Hyperteacher, SubroutinesAreTheTasksOfOneModuleAlone) {
  for (int num_hidden : {2, 3}) {
    HyperteacherConfig c;
    c.num_hidden = num_hidden;
    c.split.support = tasks::Support::kConnected;
    const HyperteacherFamily family(c);
    const std::vector<tasks::Subroutine> subs = family.subroutines();
    ASSERT_EQ(subs.size(), static_cast<size_t>(c.num_modules));
    const auto& space = family.task_space();
    for (int m = 0; m < c.num_modules; ++m) {
      EXPECT_EQ(subs[m].name, "module_" + std::to_string(m));
      int selected = 0;
      for (int64_t id = 0; id < space.size(); ++id) {
        const tasks::Task& t = space.task(id);
        bool alone = true;
        for (int v : t.values) alone = alone && v == 1 << m;
        EXPECT_EQ(subs[m].uses_task(t), alone) << space.describe(t);
        selected += subs[m].uses_task(t);
      }
      EXPECT_EQ(selected, 1) << "module " << m << ", " << num_hidden - 1 << " generated layers";
    }
    tasks::TaskData d = family.make_task_data(space.task(0), 3);
    EXPECT_EQ(subs[0].select_rows(d.query), d.query.rows);
  }
}

// Connected support trains every single module, so every subroutine has training tasks.
TEST(Hyperteacher, ConnectedSupportTrainsEverySubroutine) {
  HyperteacherConfig c;
  c.num_hidden = 2;
  c.split.support = tasks::Support::kConnected;
  const HyperteacherFamily family(c);
  for (const tasks::Subroutine& s : family.subroutines()) {
    int trained = 0;
    for (int64_t id : family.splits().train) trained += s.uses_task(family.task_space().task(id));
    EXPECT_EQ(trained, 1) << s.name;
  }
}

}  // namespace
}  // namespace hc::teacher
