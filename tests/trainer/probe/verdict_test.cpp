// Scores and the verdict rule, on scores chosen to be on either side of each of its tests, and
// the search's choice of configuration.
#include "trainer/probe/verdict.h"

#include <gtest/gtest.h>

#include <cmath>

#include "trainer/probe/search.h"

namespace hc::probe {
namespace {

TEST(ProbeVerdict, ScoresAreSharesOfTheFullModelsLift) {
  // Chance 0.25 and a full model at 0.85: a lift of 0.6.
  EXPECT_NEAR(subroutine_score(0.85, 0.25, 0.85, ScoreKind::kNormalised), 1.0, 1e-12);
  EXPECT_NEAR(subroutine_score(0.55, 0.25, 0.85, ScoreKind::kNormalised), 0.5, 1e-12);
  EXPECT_NEAR(subroutine_score(0.25, 0.25, 0.85, ScoreKind::kNormalised), 0.0, 1e-12);
  // Below chance is not clamped: an ablation that makes the answers wrong says so.
  EXPECT_NEAR(subroutine_score(0.0, 0.25, 0.85, ScoreKind::kNormalised), -0.25 / 0.6, 1e-12);
  EXPECT_EQ(subroutine_score(0.0, 0.25, 0.85, ScoreKind::kClamped), 0.0);
  EXPECT_NEAR(subroutine_score(0.55, 0.25, 0.85, ScoreKind::kClamped), 0.3, 1e-12);
  // A full model at chance has no lift to take a share of.
  EXPECT_TRUE(std::isnan(subroutine_score(0.5, 0.25, 0.26, ScoreKind::kNormalised)));
  // The lander's wind module, measured: a full model at 0.996 against chance 0.983.
  EXPECT_FALSE(scorable(0.983, 0.996, ScoreKind::kNormalised));
  EXPECT_TRUE(std::isnan(subroutine_score(0.996, 0.983, 0.996, ScoreKind::kNormalised)));
  EXPECT_TRUE(scorable(0.983, 0.996, ScoreKind::kClamped));
  EXPECT_TRUE(scorable(0.25, 0.85, ScoreKind::kNormalised));
  // Separation: the target's score minus the mean of the others'.
  const std::vector<double> chance = {0.25, 0.5, 0.5}, full = {0.85, 1.0, 0.9};
  EXPECT_NEAR(separation({0.85, 0.5, 0.7}, chance, full, 0, ScoreKind::kNormalised),
              1.0 - (0.0 + 0.5) / 2, 1e-12);
}

// `models` trained models x 3 masks; each score is `center` plus a small spread by model and
// mask, as real masks of one setting differ a little.
std::vector<ScoredMask> masks(int models, double sub, double abl, double u_sub, double u_abl) {
  std::vector<ScoredMask> out;
  for (int m = 0; m < models; ++m)
    for (int s = 0; s < 3; ++s) {
      const double e = 0.02 * (m - 1) + 0.01 * (s - 1);
      ScoredMask x;
      x.model = m;
      x.subnetwork = sub + e;
      x.ablation = abl - e;
      x.random_ablation = -0.1;
      x.untrained = true;
      x.untrained_subnetwork = u_sub - e;
      x.untrained_ablation = u_abl + e;
      x.kept = 0.1;
      out.push_back(x);
    }
  return out;
}

TEST(ProbeVerdict, HoldsOnlyWithEveryTestPassed) {
  const ProbeConfig c;
  const Verdict yes = judge(masks(3, 0.8, -0.7, 0.3, -0.1), c);
  EXPECT_TRUE(yes.holds) << verdict_text(yes);
  EXPECT_EQ(yes.models, 3);
  EXPECT_EQ(yes.masks, 9);
  EXPECT_NEAR(yes.subnetwork_test.estimate, 0.8, 1e-12);
  EXPECT_NEAR(yes.ablation_test.estimate, -0.7, 1e-12);
  EXPECT_NEAR(yes.untrained_gap.estimate, (0.8 + 0.7) - (0.3 + 0.1), 1e-12);
  EXPECT_TRUE(yes.beats_random);  // -0.7 is far below the random ablations' -0.1
  EXPECT_EQ(verdict_text(yes), "**holds**");

  // Untrained models separate as much: the architecture, not training, did it.
  const Verdict same = judge(masks(3, 0.8, -0.7, 0.8, -0.7), c);
  EXPECT_FALSE(same.holds);
  EXPECT_TRUE(same.subnetwork_ok && same.ablation_ok);
  EXPECT_FALSE(same.beyond_untrained);
  // The ablated model performs the subroutine as well as the others.
  const Verdict flat = judge(masks(3, 0.8, 0.0, 0.3, -0.1), c);
  EXPECT_FALSE(flat.ablation_ok);
  EXPECT_FALSE(flat.holds);
  // The subnetwork favours the other subroutines.
  EXPECT_FALSE(judge(masks(3, -0.5, -0.7, 0.3, -0.1), c).holds);
  // Too few trained models for the rule, however clear the masks.
  const Verdict two = judge(masks(2, 0.8, -0.7, 0.3, -0.1), c);
  EXPECT_TRUE(two.subnetwork_ok && two.ablation_ok && two.beyond_untrained);
  EXPECT_FALSE(two.holds);
  EXPECT_NE(verdict_text(two).find("2 trained model(s)"), std::string::npos);
  // Without the untrained control there is no verdict.
  std::vector<ScoredMask> bare = masks(3, 0.8, -0.7, 0.3, -0.1);
  for (auto& m : bare) m.untrained = false;
  EXPECT_FALSE(judge(bare, c).holds);
  EXPECT_NE(verdict_text(judge(bare, c)).find("no untrained control"), std::string::npos);
  // A score that could not be computed.
  std::vector<ScoredMask> nan = masks(3, 0.8, -0.7, 0.3, -0.1);
  nan[4].subnetwork = std::nan("");
  EXPECT_FALSE(judge(nan, c).scored);
  EXPECT_FALSE(judge(nan, c).holds);
}

TEST(ProbeVerdict, SearchChoosesTheLowestAblationThenTheSparsest) {
  const auto entry = [](bool passes, double ablation, int64_t removed) {
    SearchEntry e;
    e.passes = passes;
    e.ablation_score = ablation;
    e.removed = removed;
    return e;
  };
  EXPECT_EQ(choose({entry(false, -1.0, 9), entry(false, -2.0, 9)}), -1);
  EXPECT_EQ(choose({entry(true, -0.2, 10), entry(false, -0.9, 50), entry(true, -0.5, 5)}), 2);
  // Equal scores: the mask that removes the most weights, wherever it is in the grid.
  EXPECT_EQ(choose({entry(true, 0.0, 10), entry(true, 0.0, 40), entry(true, 0.0, 20)}), 1);
  EXPECT_EQ(choose({entry(true, -0.3, 40), entry(true, -0.3, 10)}), 0);
}

}  // namespace
}  // namespace hc::probe
