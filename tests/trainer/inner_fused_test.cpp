#include "trainer/inner_fused.h"

#include <gtest/gtest.h>

#include "tests/trainer/helpers.h"

namespace hc::trainer {
namespace {

using tasks::TargetKind;

struct Case {
  std::string optimizer;
  bool learn_init;
  TargetKind kind;
  int hidden = 8;  // 8: the kernel for any width; multiples of 16: the vectorised one
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.optimizer << (c.learn_init ? "_learned_init" : "_fixed_init") << "_"
      << tasks::to_string(c.kind) << "_hidden" << c.hidden;
}

agents::PolicyConfig input_row_hnet(const Case& c) {
  agents::PolicyConfig pc;
  pc.name = agents::PolicyKind::kHnetLinear;
  pc.hidden = c.hidden;
  pc.num_hidden = 1;
  pc.templates = 4;
  pc.adapt = agents::AdaptRows::kInput;
  pc.fast_bias = false;
  pc.normalize_embedding = false;
  pc.learn_embedding_init = c.learn_init;
  pc.bias = false;
  return pc;
}

LearnerConfig learner_config(const Case& c, bool fused) {
  LearnerConfig l;
  l.inner_optimizer = enum_value<InnerKind>(c.optimizer);
  l.inner_lr = c.optimizer == "sgd" ? 0.05 : 0.01;
  l.inner_steps = 12;
  l.first_order = true;
  l.fused_inner = fused;
  return l;
}

// Float32 sums in another order: the longest here has inputs x hidden = 6 x 64 = 384 terms of
// order one, whose rounding is at most 384 * 6e-8 = 2.3e-5 relative and typically 20 * 6e-8 =
// 1.2e-6; twelve inner steps carry such differences forward without amplifying them much (Adam
// divides by sqrt(v), of the same order as the gradient). 1e-4 of the quantities' scale leaves a
// wide margin over rounding while any difference of arithmetic (a missed term, a wrong scale, a
// misplaced mask) shows at order one.
double scaled_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a - b).abs().max() / (1.0 + b.abs().max())).item<double>();
}

class FusedInner : public ::testing::TestWithParam<Case> {};

TEST_P(FusedInner, AdaptsAndDifferentiatesLikeTheGenericLoop) {
  const Case c = GetParam();
  const Batch b = testing::synthetic_batch(3, 6, 3, c.kind, false, torch::kFloat32, 31);
  agents::Policy p = agents::make_policy(input_row_hnet(c), {6, 3, 0}, 5);
  ASSERT_TRUE(fused_inner_applies(*p, b));
  Learner fused(p, learner_config(c, true), 1, true), generic(p, learner_config(c, false), 1, true);
  const Adapted f = fused.adapt(b), g = generic.adapt(b);
  ASSERT_EQ(f.fast.size(), g.fast.size());
  EXPECT_EQ(f.fast[0].sizes(), g.fast[0].sizes());
  EXPECT_LT(scaled_diff(f.fast[0], g.fast[0]), 1e-4);
  EXPECT_LT(scaled_diff(f.support_before, g.support_before), 1e-4);
  EXPECT_LT(scaled_diff(f.support_after, g.support_after), 1e-4);
  // Adaptation did something: the support loss fell.
  EXPECT_LT(f.support_after.sum().item<double>(), f.support_before.sum().item<double>());
  // First-order meta-gradients, including the path to a meta-learned starting embedding.
  StepStats sf, sg;
  const auto gf = fused.meta_gradient({b}, sf), gg = generic.meta_gradient({b}, sg);
  ASSERT_EQ(gf.size(), gg.size());
  for (size_t i = 0; i < gf.size(); ++i)
    EXPECT_LT(scaled_diff(gf[i], gg[i]), 1e-4) << p->named_parameters()[i].key();
  EXPECT_NEAR(sf.loss, sg.loss, 1e-4 * (1 + std::abs(sg.loss)));
}

INSTANTIATE_TEST_SUITE_P(Cases, FusedInner,
                         ::testing::Values(Case{"adam", false, TargetKind::kRegression},
                                           Case{"adam", true, TargetKind::kRegression},
                                           Case{"adamw", true, TargetKind::kValues},
                                           Case{"sgd", false, TargetKind::kActions},
                                           Case{"adam", false, TargetKind::kRegression, 16},
                                           Case{"adam", true, TargetKind::kRegression, 32},
                                           Case{"adamw", true, TargetKind::kValues, 64}));

TEST(FusedInner, AppliesOnlyWhereItComputesTheSameThing) {
  const Batch b =
      testing::synthetic_batch(2, 6, 3, TargetKind::kRegression, false, torch::kFloat32, 3);
  const Case c{"adam", false, TargetKind::kRegression};
  agents::PolicyConfig pc = input_row_hnet(c);
  EXPECT_TRUE(fused_inner_applies(*agents::make_policy(pc, {6, 3, 0}, 1), b));
  // Anything else adapted, a normalised embedding, generated biases, another layer, or targets
  // that are not squared errors: the generic loop.
  for (const auto& change : std::vector<std::function<void(agents::PolicyConfig&)>>{
           [](auto& q) { q.fast_bias = true; }, [](auto& q) { q.normalize_embedding = true; },
           [](auto& q) { q.adapt = agents::AdaptRows::kAll; }, [](auto& q) { q.bias = true; },
           [](auto& q) { q.num_hidden = 2; }}) {
    agents::PolicyConfig q = pc;
    change(q);
    EXPECT_FALSE(fused_inner_applies(*agents::make_policy(q, {6, 3, 0}, 1), b));
  }
  const Batch labels =
      testing::synthetic_batch(2, 6, 3, TargetKind::kLabels, false, torch::kFloat32, 3);
  EXPECT_FALSE(fused_inner_applies(*agents::make_policy(pc, {6, 3, 0}, 1), labels));
}

}  // namespace
}  // namespace hc::trainer
