// Mask training: the reference's temperature schedule, the scaled sparsity penalty, and a mask
// that recovers a path known to be there, the same with any thread count.
#include "trainer/probe/train.h"

#include <gtest/gtest.h>

#include <cmath>

#include "tests/trainer/probe/paths.h"

namespace hc::probe {
namespace {

TEST(ProbeTrain, TemperatureIsTheReferenceSchedule) {
  // The reference starts at 1 and multiplies by 200^(1/90) after every one of its 90 epochs.
  EXPECT_EQ(mask_temperature(0, 90, 200.0), 1.0);
  const double ratio = std::pow(200.0, 1.0 / 90.0);
  double t = 1.0;
  for (int e = 1; e < 90; ++e) {
    t *= ratio;
    EXPECT_NEAR(mask_temperature(e, 90, 200.0), t, 1e-9 * t) << e;
  }
  EXPECT_NEAR(mask_temperature(89, 90, 200.0) * ratio, 200.0, 1e-9);
}

TEST(ProbeTrain, PenaltyIsScaledToTheReferencesShareOfTheLoss) {
  ProbeConfig c;
  // 1e-8 over the reference's 2.79e7 weights is 0.279 over ours, however many they are.
  EXPECT_DOUBLE_EQ(penalty_weight(c, 2'790'000) * 2'790'000, 1e-8 * 2.79e7);
  EXPECT_DOUBLE_EQ(penalty_weight(c, 1000) * 1000, 1e-8 * 2.79e7);
  c.lambda_weights = 0;  // unscaled: lambda as given
  EXPECT_DOUBLE_EQ(penalty_weight(c, 1000), 1e-8);
}

// A squared error has no fixed scale: for action vectors the penalty follows the constant
// prediction's loss, at the reference's weight where that loss is its ln 2; a cross-entropy is
// left as it is.
TEST(ProbeTrain, PenaltyFollowsTheConstantsLossForActionVectors) {
  ProbeConfig c;
  const double ln2 = std::log(2.0);
  EXPECT_DOUBLE_EQ(loss_scale(c, tasks::TargetKind::kActions, ln2), 1.0);
  EXPECT_DOUBLE_EQ(loss_scale(c, tasks::TargetKind::kActions, 0.0092), 0.0092 / ln2);
  EXPECT_EQ(loss_scale(c, tasks::TargetKind::kLabels, 1.6), 1.0);
  EXPECT_EQ(loss_scale(c, tasks::TargetKind::kActions, std::nan("")), 1.0);
  EXPECT_DOUBLE_EQ(penalty_weight(c, 1000, 0.25) * 1000, 0.25 * 1e-8 * 2.79e7);
  c.lambda_loss = false;
  EXPECT_EQ(loss_scale(c, tasks::TargetKind::kActions, 0.0092), 1.0);
}

// Disjoint paths: a mask trained on subroutine a keeps exactly a's path -- every other weight is
// zero or sees a zero input on a's rows, so only the penalty moves its logit, downwards -- the
// same way whatever the thread count.
TEST(ProbeTrain, RecoversAPathTheSameWithAnyThreadCount) {
  const testing::TwoPaths family(/*shared=*/false);
  ProbeConfig config = testing::small_probe();
  const auto subs = family.subroutines();
  const SubroutineSet train = make_subroutine_set(family, subs[0], {0}, 8, 4, 2, 11);
  std::vector<MaskTraining> runs;
  for (int threads : {1, 2}) {
    trainer::Learner learner(testing::path_network(), testing::no_adaptation(), threads, true);
    const auto masked = MaskedPolicy::make(MaskTarget::kNetwork, learner);
    ASSERT_EQ(masked->units().size(), 2u);
    for (const auto& b : train.batches) masked->prepare(b);
    runs.push_back(train_mask(*masked, train.batches, config, {1e-2, -0.05, "all"}, 5));
  }
  const MaskValues hard = hard_mask(runs[0].logits);
  torch::Tensor w0 = torch::zeros({4, 16}), w1 = torch::zeros({16, 5});
  for (int f : {0, 1}) w0[f][f] = 1.0f, w1[f][f] = 1.0f;
  EXPECT_TRUE(torch::equal(hard[0], w0)) << hard[0];
  EXPECT_TRUE(torch::equal(hard[1], w1)) << hard[1];
  for (size_t u = 0; u < runs[0].logits.size(); ++u)
    EXPECT_TRUE(torch::equal(runs[0].logits[u], runs[1].logits[u]));
  EXPECT_EQ(runs[0].steps, config.epochs * 2);  // 8 instances in steps of 4

  // The loss scale reaches the penalty: half the scale, half the first step's penalty (the same
  // initial mask; halving is exact in floating point).
  trainer::Learner learner(testing::path_network(), testing::no_adaptation(), 1, true);
  const auto masked = MaskedPolicy::make(MaskTarget::kNetwork, learner);
  for (const auto& b : train.batches) masked->prepare(b);
  const MaskTraining half =
      train_mask(*masked, train.batches, config, {1e-2, -0.05, "all"}, 5, 0.5);
  EXPECT_GT(runs[0].first_penalty, 0.0);
  EXPECT_EQ(half.first_penalty, 0.5 * runs[0].first_penalty);
}

}  // namespace
}  // namespace hc::probe
