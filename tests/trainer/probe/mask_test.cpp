// Masks over a policy: hard masks and their ablations, layer ranges, the targets of each policy,
// and mask gradients through the dense network and through the inner loop.
#include "trainer/probe/mask.h"

#include <gtest/gtest.h>

#include "tests/trainer/helpers.h"

namespace hc::probe {
namespace {

using tasks::TargetKind;
using trainer::testing::synthetic_batch;
using trainer::testing::tiny_policy;

TEST(ProbeMask, HardMaskKeepsPositiveLogitsAndAblationTheRest) {
  const std::vector<torch::Tensor> logits = {torch::tensor({-0.1f, 0.0f, 1e-6f, 2.0f}),
                                             torch::Tensor()};
  const MaskValues hard = hard_mask(logits);
  EXPECT_TRUE(torch::equal(hard[0], torch::tensor({0.0f, 0.0f, 1.0f, 1.0f})));
  EXPECT_FALSE(hard[1].defined());  // not masked: all weights stay
  const MaskValues abl = ablation_of(hard);
  EXPECT_TRUE(torch::equal(abl[0], torch::tensor({1.0f, 1.0f, 0.0f, 0.0f})));
  EXPECT_FALSE(abl[1].defined());
  EXPECT_EQ(kept_weights(hard), 2);
  EXPECT_EQ(masked_weights(hard), 4);
  // A random ablation removes as many weights as the mask keeps, and only masked ones.
  Rng rng(1);
  for (int d = 0; d < 5; ++d) {
    const MaskValues r = random_ablation(hard, rng);
    EXPECT_EQ(masked_weights(r) - kept_weights(r), 2);
    EXPECT_FALSE(r[1].defined());
  }
}

TEST(ProbeMask, LayerRangesCountStagesFromTheOutput) {
  const std::vector<MaskUnit> net = {
      {"layer0", {2, 2}, 0}, {"layer1", {2, 2}, 1}, {"layer2", {2, 1}, 2}};
  EXPECT_EQ(parse_layers("all", net), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(parse_layers("last 1", net), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(parse_layers("last 2", net), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(parse_layers("last 9", net), (std::vector<bool>{true, true, true}));
  EXPECT_EQ(parse_layers("layer0, layer2", net), (std::vector<bool>{true, false, true}));
  const auto message = [&](const std::string& spec) {
    try {
      parse_layers(spec, net);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message("layer0,layer9").find("unknown unit 'layer9'"), std::string::npos);
  EXPECT_NE(message("layer0,layer9").find("layer0, layer1, layer2"), std::string::npos);
  EXPECT_NE(message("last 0").find("'last N'"), std::string::npos);
  EXPECT_NE(message("last x").find("'last N'"), std::string::npos);
}

// A bank's stages are its parts in < hid < out, whatever order the parameters come in; a
// policy with one hidden layer has no hid part, and out is then the second stage.
TEST(ProbeMask, BankStagesArePartsInHidOut) {
  for (int num_hidden : {1, 2}) {
    agents::PolicyConfig pc = tiny_policy("hnet_linear");
    pc.num_hidden = num_hidden;
    trainer::Learner learner(agents::make_policy(pc, {6, 3, 0}, 1), trainer::LearnerConfig{}, 1,
                             true);
    const auto bank = MaskedPolicy::make(MaskTarget::kBank, learner);
    for (const MaskUnit& u : bank->units()) {
      const std::string part = u.name.substr(0, u.name.find('_'));
      const int want = part == "in" ? 0 : part == "hid" ? 1 : num_hidden;
      EXPECT_EQ(u.stage, want) << u.name;
    }
    const std::vector<bool> last = parse_layers("last 1", bank->units());
    for (size_t i = 0; i < last.size(); ++i)
      EXPECT_EQ(last[i], bank->units()[i].name.rfind("out_", 0) == 0) << bank->units()[i].name;
  }
}

TEST(ProbeMask, TargetsOfEachPolicy) {
  for (const std::string& name : trainer::testing::policy_names()) {
    trainer::Learner learner(agents::make_policy(tiny_policy(name), {6, 3, 0}, 1),
                             trainer::LearnerConfig{}, 1, true);
    const auto all = mask_targets(learner, ProbeTargets::kAll);
    const bool hnet = name.rfind("hnet", 0) == 0;
    EXPECT_EQ(all.size(), hnet ? 2u : 1u) << name;
    EXPECT_EQ(all[0], MaskTarget::kNetwork);
    if (!hnet) EXPECT_THROW(mask_targets(learner, ProbeTargets::kBank), Error) << name;
  }
}

// The mask gradients (through the inner loop for the bank) match finite differences of the
// masked loss, for both targets of a hypernetwork; the bank is restored afterwards.
TEST(ProbeMask, GradientsMatchFiniteDifferences) {
  for (MaskTarget target : {MaskTarget::kNetwork, MaskTarget::kBank}) {
    agents::PolicyConfig pc = tiny_policy("hnet_linear");
    pc.normalize_embedding = false;
    agents::Policy p = agents::make_policy(pc, {6, 3, 0}, 9);
    p->to(torch::kFloat64);
    trainer::LearnerConfig lc;
    lc.inner_steps = 2;
    lc.inner_lr = 0.1;
    trainer::Learner learner(p, lc, 1, true);
    const std::vector<trainer::Batch> shards = {
        synthetic_batch(2, 6, 3, TargetKind::kLabels, false, torch::kFloat64, 21),
        synthetic_batch(1, 6, 3, TargetKind::kLabels, false, torch::kFloat64, 22)};
    std::vector<torch::Tensor> before;
    for (const auto& t : p->parameters()) before.push_back(t.detach().clone());
    {
      const auto masked = MaskedPolicy::make(target, learner);
      masked->prepare(shards);
      torch::manual_seed(2);
      MaskValues m;
      for (const auto& u : masked->units())
        m.push_back(0.1 + 0.8 * torch::rand(u.shape, torch::kFloat64));
      MaskValues grad;
      masked->loss_and_grad(shards, m, grad);
      Rng rng(3);
      const double h = 1e-6;
      for (size_t u = 0; u < m.size(); ++u)
        for (int k = 0; k < 3; ++k) {
          const int64_t j = static_cast<int64_t>(rng.uniform_int(m[u].numel()));
          double* x = m[u].data_ptr<double>() + j;
          const double saved = *x;
          MaskValues unused;
          *x = saved + h;
          const double up = masked->loss_and_grad(shards, m, unused);
          *x = saved - h;
          const double down = masked->loss_and_grad(shards, m, unused);
          *x = saved;
          const double fd = (up - down) / (2 * h);
          // Central differences of a smooth loss in double precision: truncation O(h^2) and
          // rounding O(eps / h), both far below 1e-6 at these magnitudes.
          EXPECT_NEAR(grad[u].reshape({-1})[j].item<double>(), fd, 1e-6 + 1e-4 * std::abs(fd))
              << name_of(target) << " unit " << masked->units()[u].name << " entry " << j;
        }
    }
    const auto after = p->parameters();
    for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i]));
  }
}

}  // namespace
}  // namespace hc::probe
