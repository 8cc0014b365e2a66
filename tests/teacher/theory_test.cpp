#include "teacher/theory.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <set>
#include <vector>

#include "base/error.h"
#include "families/registry.h"

namespace hc::teacher {
namespace {

std::shared_ptr<tasks::TaskFamily> family_with(const std::string& key, const std::string& value) {
  YAML::Node section = families::find_family("theory").defaults();
  section[key] = YAML::Load(value);
  return families::make_family(section, "test.yaml");
}

std::string error_of(const std::string& key, const std::string& value) {
  try {
    family_with(key, value);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

int64_t id_of(const tasks::TaskFamily& f, int mask) {
  for (int64_t id = 0; id < f.task_space().size(); ++id)
    if (f.task_space().task(id).values[0] == mask) return id;
  return -1;
}

TEST(Theory, TeacherIsAReluNetworkWhoseFirstLayerIsLinearInTheCode) {
  const TheoryFamily f{TheoryConfig{}};
  const tasks::ModuleBank bank = *f.generated_bank();
  ASSERT_EQ(bank.modules, 6);
  ASSERT_EQ(bank.in, 16);
  ASSERT_EQ(bank.out, 16);
  // y = ReLU(x (sum_m z_m H_m) / sqrt(16)) A with a head A shared by every task.
  tasks::Task t = f.task_space().task(id_of(f, 0b100101));
  t.weights = {0.7f, 0, 0.6f, 0, 0, 0.9f};
  std::vector<float> x(3 * 16);
  Rng rng(5);
  for (float& v : x) v = static_cast<float>(rng.uniform(-1.7, 1.7));
  std::vector<float> y(3 * 4), y2(3 * 4);
  f.teacher_outputs(t, x.data(), 3, y.data());
  // Linear in the code before the ReLU: doubling every weight doubles the hidden pre-activations,
  // and a ReLU network without biases is positively homogeneous, so the outputs double.
  tasks::Task twice = t;
  for (float& w : twice.weights) w *= 2.0f;
  f.teacher_outputs(twice, x.data(), 3, y2.data());
  for (size_t i = 0; i < y.size(); ++i)
    EXPECT_NEAR(y2[i], 2.0f * y[i], 1e-5f * (1 + std::abs(y[i])));
  // The whole network recomputed in double precision from the bank and the head.
  const int n = 50;
  std::vector<float> xs(n * 16), ys(n * 4);
  for (float& v : xs) v = static_cast<float>(rng.uniform(-1.7, 1.7));
  f.teacher_outputs(t, xs.data(), n, ys.data());
  const std::vector<float>& head = f.head();
  ASSERT_EQ(head.size(), 16u * 4u);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < 4; ++c) {
      double y = 0, scale = 0;
      for (int o = 0; o < 16; ++o) {
        double u = 0;
        for (int i = 0; i < 16; ++i)
          for (int m = 0; m < 6; ++m)
            u += xs[r * 16 + i] * t.weights[m] * bank.weights[(m * 16 + i) * 16 + o];
        const double h = std::max(u / 4.0, 0.0);
        y += h * head[o * 4 + c];
        scale += std::abs(h * head[o * 4 + c]);
      }
      // Float32 sums of about 100 products: rounding well below 1e-5 of the terms' size.
      EXPECT_NEAR(ys[r * 4 + c], y, 1e-5 * (1.0 + scale)) << r << " " << c;
    }
}

TEST(Theory, ListedSupportTrainsExactlyTheListedModuleSets) {
  const auto f = family_with("tasks", "\"0,0;1;2,3;4,5,3\"");
  const auto& train = f->splits().train;
  ASSERT_EQ(train.size(), 4u);
  EXPECT_EQ(train[0], id_of(*f, 0b1));  // "0,0" is module 0 alone, as in the reference
  EXPECT_EQ(train[1], id_of(*f, 0b10));
  EXPECT_EQ(train[2], id_of(*f, 0b1100));
  EXPECT_EQ(train[3], id_of(*f, 0b111000));
  EXPECT_EQ(f->split_spec().support, tasks::Support::kListed);
  // OOD: every other module set; OOD by hotness: every set of that many modules, trained or not
  // (the reference's eval sets, drawn with continuous weights).
  EXPECT_EQ(f->splits().ood.size(), 63u - 4u);
  const int binom[] = {1, 6, 15, 20, 15, 6, 1};
  for (int h = 1; h <= 6; ++h) {
    const auto& set = f->splits().ood_by_hotness.at(h);
    EXPECT_EQ(static_cast<int>(set.size()), binom[h]) << h;
    for (int64_t id : set)
      EXPECT_EQ(std::popcount(static_cast<unsigned>(f->task_space().task(id).values[0])), h);
  }
}

TEST(Theory, BadTaskListsAreRefusedNamingTheKey) {
  EXPECT_NE(error_of("tasks", "\"0,1;1,0\"").find("sets 1 and 2 are both the module set {0,1}"),
            std::string::npos)
      << error_of("tasks", "\"0,1;1,0\"");
  const std::string bad = error_of("tasks", "\"0,1;1,6\"");
  EXPECT_NE(bad.find("tasks"), std::string::npos) << bad;
  EXPECT_NE(bad.find("'6' in set 2"), std::string::npos) << bad;
  EXPECT_NE(error_of("tasks", "\"0,1;;2\"").find("'' in set 2"), std::string::npos);
  EXPECT_NE(error_of("tasks", "\"a\"").find("test.yaml"), std::string::npos);
  EXPECT_NE(error_of("ood_hotness", "[0]").find("ood_hotness"), std::string::npos);
}

TEST(Theory, TrainingCodesAreNormalisedKHotAndHeldOutCodesContinuous) {
  const auto f = family_with("tasks", "\"0;1,2;3,4,5\"");
  const tasks::Task& pair = f->task_space().task(id_of(*f, 0b110));
  const tasks::TaskData train = f->make_task_data(pair, 7);
  EXPECT_FLOAT_EQ(train.latent[1], 1.0f / std::sqrt(2.0f));
  EXPECT_FLOAT_EQ(train.latent[2], 1.0f / std::sqrt(2.0f));
  EXPECT_EQ(train.latent[0], 0.0f);
  std::set<float> seen;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const tasks::TaskData held = f->make_held_out_data(pair, seed);
    for (int m = 0; m < 6; ++m) {
      if (m == 1 || m == 2) {
        EXPECT_GE(held.latent[m], 0.5f);
        EXPECT_LE(held.latent[m], 1.0f);
        seen.insert(held.latent[m]);
      } else {
        EXPECT_EQ(held.latent[m], 0.0f);
      }
    }
    // Support and query share the task's code.
    EXPECT_EQ(held.task.weights, f->make_held_out_data(pair, seed).task.weights);
  }
  EXPECT_GT(seen.size(), 30u);  // continuous: 40 draws, (almost surely) all different
  // With continuous training codes the training draw is continuous too.
  const auto c = family_with("continuous", "true");
  const tasks::TaskData cont = c->make_task_data(c->task_space().task(id_of(*c, 0b1)), 3);
  EXPECT_GE(cont.latent[0], 0.5f);
  EXPECT_LT(cont.latent[0], 1.0f);
}

TEST(Theory, DataAreTheTeachersOutputsOnUnitVarianceInputs) {
  const TheoryFamily f{TheoryConfig{}};
  const tasks::TaskData d = f.make_task_data(f.task_space().task(f.splits().train[7]), 11);
  ASSERT_EQ(d.support.rows, 256);
  ASSERT_EQ(d.query.rows, 256);
  double sum2 = 0;
  for (float x : d.support.inputs) {
    EXPECT_LE(std::abs(x), std::sqrt(3.0f));
    sum2 += x * x;
  }
  // Uniform on [-sqrt 3, sqrt 3] has unit variance: 4096 draws give 1 +- 0.02 (sd of x^2 is 0.89).
  EXPECT_NEAR(sum2 / d.support.inputs.size(), 1.0, 0.06);
  std::vector<float> y(256 * 4);
  f.teacher_outputs(d.task, d.query.inputs.data(), 256, y.data());
  EXPECT_EQ(y, d.query.targets);
  EXPECT_TRUE(d.query.labels.empty());
  EXPECT_NE(d.support.inputs, d.query.inputs);
}

}  // namespace
}  // namespace hc::teacher
