// The probe of one model on a hand-made network whose paths are known: the masks it finds are
// exactly the subroutines' paths where they are disjoint, and cannot be where they are shared;
// the same configuration and seed give the same probe.
#include "trainer/probe/search.h"

#include <gtest/gtest.h>

#include "families/registry.h"
#include "tests/trainer/probe/paths.h"

namespace hc::probe {
namespace {

ProbeModel model_of(trainer::Learner& learner) {
  ProbeModel m;
  m.label = "paths";
  m.policy = "learned_init";
  m.learner = &learner;
  m.seed = 7;
  m.shards = 2;
  m.untrained = [](uint64_t seed) {
    return std::make_unique<trainer::Learner>(
        agents::make_policy(testing::path_config(), {4, 5, 0}, seed), testing::no_adaptation(), 1,
        true);
  };
  return m;
}

TEST(ProbeSearch, FindsDisjointPaths) {
  const testing::TwoPaths family(/*shared=*/false);
  trainer::Learner learner(testing::path_network(), testing::no_adaptation(), 1, true);
  const ProbeConfig config = testing::small_probe();
  const ModelProbe r = probe(family, model_of(learner), MaskTarget::kNetwork, config, {});
  ASSERT_EQ(r.probes.size(), 2u);
  EXPECT_EQ(r.full, (std::vector<double>{1.0, 1.0}));
  for (const SubroutineProbe& sp : r.probes) {
    const size_t k = sp.index, other = 1 - k;
    EXPECT_TRUE(sp.threshold_met);
    ASSERT_EQ(sp.masks.size(), 3u);
    // The subnetwork is the path: all of the subroutine's rows right, none of the other's (their
    // answer falls to class 4); the ablated model is the other way round.
    for (const MaskResult& m : sp.masks) {
      EXPECT_EQ(m.subnetwork[k], 1.0);
      EXPECT_EQ(m.subnetwork[other], 0.0);
      EXPECT_EQ(m.ablated[k], 0.0);
      EXPECT_EQ(m.ablated[other], 1.0);
      EXPECT_NEAR(m.kept, 4.0 / (4 * 16 + 16 * 5), 1e-12);
      EXPECT_TRUE(m.untrained);
      EXPECT_EQ(m.random_ablated.size(), 5u);
    }
    // Normalised scores: the whole lift on the subroutine, none on the other.
    for (const ScoredMask& s : score_masks(r, sp, 0, config.score)) {
      EXPECT_NEAR(s.subnetwork, 1.0 + r.chance[other] / (1.0 - r.chance[other]), 1e-12);
      EXPECT_NEAR(s.ablation, -1.0 - r.chance[k] / (1.0 - r.chance[k]), 1e-12);
    }
  }
  // The same configuration and seed give the same probe.
  const ModelProbe again = probe(family, model_of(learner), MaskTarget::kNetwork, config, {"b"});
  ASSERT_EQ(again.probes.size(), 1u);
  EXPECT_EQ(again.probes[0].masks[2].subnetwork, r.probes[1].masks[2].subnetwork);
  EXPECT_EQ(again.probes[0].masks[2].random_ablated, r.probes[1].masks[2].random_ablated);
  EXPECT_EQ(again.probes[0].masks[2].untrained_subnetwork,
            r.probes[1].masks[2].untrained_subnetwork);
  // Probed one subroutine per call (`only`, as `hypercomp probe` does by parts), every mask and
  // search entry is the one of the probe in one call.
  for (const SubroutineProbe& whole : r.probes) {
    const ModelProbe part = probe(family, model_of(learner), MaskTarget::kNetwork, config, {}, {},
                                  {r.subroutines[whole.index]});
    ASSERT_EQ(part.probes.size(), 1u);
    EXPECT_EQ(part.full, r.full);
    EXPECT_EQ(part.chance, r.chance);
    const SubroutineProbe& p = part.probes[0];
    EXPECT_EQ(p.index, whole.index);
    EXPECT_EQ(p.chosen, whole.chosen);
    ASSERT_EQ(p.search.size(), whole.search.size());
    for (size_t i = 0; i < p.search.size(); ++i) {
      EXPECT_EQ(p.search[i].ablation_score, whole.search[i].ablation_score);
      EXPECT_EQ(p.search[i].kept, whole.search[i].kept);
    }
    ASSERT_EQ(p.masks.size(), whole.masks.size());
    for (size_t i = 0; i < p.masks.size(); ++i) {
      EXPECT_EQ(p.masks[i].subnetwork, whole.masks[i].subnetwork);
      EXPECT_EQ(p.masks[i].ablated, whole.masks[i].ablated);
      EXPECT_EQ(p.masks[i].random_ablated, whole.masks[i].random_ablated);
      EXPECT_EQ(p.masks[i].untrained_ablated, whole.masks[i].untrained_ablated);
    }
  }
}

// Shared weights: the mask for even rows must keep every path, which odd rows use as well, so
// its ablation breaks both subroutines alike.
TEST(ProbeSearch, SharedPathsCannotBeSeparated) {
  const testing::TwoPaths family(/*shared=*/true);
  trainer::Learner learner(testing::path_network(), testing::no_adaptation(), 1, true);
  const ProbeConfig config = testing::small_probe();
  const ModelProbe r = probe(family, model_of(learner), MaskTarget::kNetwork, config, {});
  ASSERT_EQ(r.probes.size(), 2u);
  for (const SubroutineProbe& sp : r.probes)
    for (const MaskResult& m : sp.masks) {
      EXPECT_EQ(m.subnetwork, (std::vector<double>{1.0, 1.0}));
      EXPECT_EQ(m.ablated, (std::vector<double>{0.0, 0.0}));
    }
}

TEST(ProbeSearch, ErrorsNameWhatIsWrong) {
  const auto message = [](auto&& fn) {
    try {
      fn();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  const auto point = families::make_family("point_reach");
  EXPECT_NE(message([&] { select_subroutines(*point, {}); }).find("declares no subroutines"),
            std::string::npos);
  const auto goals = families::make_family("compositional_goals");
  const std::string unknown = message([&] { select_subroutines(*goals, {"jump"}); });
  EXPECT_NE(unknown.find("unknown subroutine 'jump'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("known: navigation, interaction"), std::string::npos) << unknown;
  EXPECT_EQ(select_subroutines(*goals, {"interaction"}).at(0).name, "interaction");
}

}  // namespace
}  // namespace hc::probe
