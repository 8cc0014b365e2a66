// The probe answers both ways on models whose structure is known (controls.h): "holds" for both
// subroutines of the dense, shared-input and bank controls, and not for an untrained model.
// These run the whole procedure -- search, mask seeds, untrained-model controls, the verdict
// over 3 trained models -- on small budgets (docs/probe.md has them at the default settings).
#include "trainer/probe/controls.h"

#include <gtest/gtest.h>

namespace hc::probe {
namespace {

ControlConfig small_controls() {
  ControlConfig c;
  c.steps = 500;
  c.outer_lr = 1e-2;
  c.block = 8;
  return c;
}

ProbeConfig small_probe(std::vector<std::string> layers) {
  ProbeConfig c;
  c.epochs = 20;
  c.train_tasks = 64;
  c.batch = 8;
  c.select_tasks = 16;
  c.test_tasks = 32;
  c.random_ablations = 2;
  c.search.lr = {1e-2};
  c.search.init = {0.05};
  c.search.layers = std::move(layers);
  return c;
}

// The verdict for each subroutine, over 3 trained models of the control.
std::vector<Verdict> verdicts(ControlKind kind, MaskTarget target, const ProbeConfig& config) {
  std::vector<std::vector<ScoredMask>> by_sub(2);
  for (int m = 0; m < 3; ++m) {
    const Control c = make_control(kind, small_controls(), 100 + m);
    const ModelProbe r = probe(*c.family, c.model(), target, config, {});
    if (kind != ControlKind::kUntrained)
      for (size_t k = 0; k < 2; ++k) EXPECT_GT(r.full[k], 0.9) << c.label << " " << r.subroutines[k];
    std::cerr << c.label << " full " << r.full[0] << " " << r.full[1] << "\n";
    for (const SubroutineProbe& p : r.probes) {
      const auto s = score_masks(r, p, m, config.score);
      by_sub[p.index].insert(by_sub[p.index].end(), s.begin(), s.end());
    }
  }
  return {judge(by_sub[0], config), judge(by_sub[1], config)};
}

TEST(ProbeControls, DenseBlocksHold) {
  for (const Verdict& v : verdicts(ControlKind::kDense, MaskTarget::kNetwork,
                                   small_probe({"last 2", "all"})))
    EXPECT_TRUE(v.holds) << verdict_text(v);
}

TEST(ProbeControls, SharedInputHoldsWithLateLayerMasksOnly) {
  for (const Verdict& v : verdicts(ControlKind::kShared, MaskTarget::kNetwork,
                                   small_probe({"last 1", "last 2", "all"})))
    EXPECT_TRUE(v.holds) << verdict_text(v);
  // A mask over every layer must keep the shared encoding of the input, whose ablation breaks
  // both parts.
  for (const Verdict& v :
       verdicts(ControlKind::kShared, MaskTarget::kNetwork, small_probe({"all"})))
    EXPECT_FALSE(v.holds) << verdict_text(v);
}

TEST(ProbeControls, BankSplitByTemplatesHolds) {
  for (const Verdict& v :
       verdicts(ControlKind::kBank, MaskTarget::kBank, small_probe({"last 2", "all"})))
    EXPECT_TRUE(v.holds) << verdict_text(v);
}

TEST(ProbeControls, UntrainedDoesNotHold) {
  for (const Verdict& v : verdicts(ControlKind::kUntrained, MaskTarget::kNetwork,
                                   small_probe({"last 2", "all"})))
    EXPECT_FALSE(v.holds) << verdict_text(v);
}

}  // namespace
}  // namespace hc::probe
