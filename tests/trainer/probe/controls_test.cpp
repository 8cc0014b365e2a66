// The probe answers both ways on models whose structure is known (controls.h): "holds" for both
// subroutines of the dense, shared-input and bank controls, and not for an untrained model.
// These run the whole procedure -- search, mask seeds, untrained-model controls, the verdict
// over 3 trained models -- on small budgets (docs/probe.md has them at the default settings).
#include "trainer/probe/controls.h"
#include "trainer/probe/data.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace hc::probe {
namespace {

ControlConfig small_controls() {
  ControlConfig c;
  c.steps = 500;
  c.outer_lr = 1e-2;
  c.block = 8;
  return c;
}

ProbeConfig small_probe(std::vector<std::string> layers, int epochs = 20) {
  ProbeConfig c;
  c.epochs = epochs;
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

// Three trained models of a control (seeds 100, 101, 102), trained once per test program;
// `actions`: answering with action vectors (ControlConfig::actions).
const std::vector<Control>& controls(ControlKind kind, bool actions = false) {
  static std::map<std::pair<ControlKind, bool>, std::vector<Control>> made;
  auto& c = made[{kind, actions}];
  ControlConfig config = small_controls();
  config.actions = actions;
  if (c.empty())
    for (int m = 0; m < 3; ++m) c.push_back(make_control(kind, config, 100 + m));
  return c;
}

// The verdict for each subroutine, over the 3 trained models of the control.
std::vector<Verdict> verdicts(ControlKind kind, MaskTarget target, const ProbeConfig& config,
                              bool actions = false) {
  std::vector<std::vector<ScoredMask>> by_sub(2);
  const std::vector<Control>& models = controls(kind, actions);
  for (size_t m = 0; m < models.size(); ++m) {
    const ModelProbe r = probe(*models[m].family, models[m].model(), target, config, {});
    // The trained controls must do the task, or their verdicts test nothing.
    EXPECT_EQ(r.full.size(), 2u);
    if (kind != ControlKind::kUntrained) {
      for (size_t k = 0; k < r.full.size(); ++k) {
        EXPECT_GT(r.full[k], 0.9) << models[m].label << " subroutine " << r.subroutines[k] << " ("
                                  << name_of(config.metric) << ")";
      }
    }
    for (const SubroutineProbe& p : r.probes) {
      const auto s = score_masks(r, p, static_cast<int>(m), config.score);
      by_sub[p.index].insert(by_sub[p.index].end(), s.begin(), s.end());
    }
  }
  return {judge(by_sub[0], config), judge(by_sub[1], config)};
}

TEST(ProbeControls, DenseBlocksHold) {
  for (const Verdict& v :
       verdicts(ControlKind::kDense, MaskTarget::kNetwork, small_probe({"last 2", "all"})))
    EXPECT_TRUE(v.holds) << verdict_text(v);
}

TEST(ProbeControls, SharedInputHoldsWithLateLayerMasksOnly) {
  for (const Verdict& v : verdicts(ControlKind::kShared, MaskTarget::kNetwork,
                                   small_probe({"last 1", "last 2", "all"})))
    EXPECT_TRUE(v.holds) << verdict_text(v);
  // A mask over every layer that does one part keeps the encoding of the input both parts
  // read, and its ablation breaks both.
  for (const Verdict& v :
       verdicts(ControlKind::kShared, MaskTarget::kNetwork, small_probe({"all"}))) {
    EXPECT_FALSE(v.holds) << verdict_text(v);
    EXPECT_FALSE(v.ablation_ok) << verdict_text(v);
  }
}

TEST(ProbeControls, BankSplitByTemplatesHolds) {
  // Every bank mask step runs the inner loop: the smallest budget that shows it.
  ProbeConfig config = small_probe({"all"}, 10);
  config.train_tasks = 32;
  for (const Verdict& v : verdicts(ControlKind::kBank, MaskTarget::kBank, config))
    EXPECT_TRUE(v.holds) << verdict_text(v);
}

TEST(ProbeControls, UntrainedDoesNotHold) {
  for (const Verdict& v :
       verdicts(ControlKind::kUntrained, MaskTarget::kNetwork, small_probe({"last 2", "all"})))
    EXPECT_FALSE(v.holds) << verdict_text(v);
}

// 32 task instances of the control's first subroutine (query rows of part a only).
SubroutineSet first_subroutine_set(const ControlFamily& family) {
  const std::vector<tasks::Subroutine> subs = family.subroutines();
  std::vector<int64_t> ids;
  for (int64_t id = 0; id < family.task_space().size(); ++id)
    if (subs[0].uses_task(family.task_space().task(id))) ids.push_back(id);
  return make_subroutine_set(family, subs[0], ids, 32, 8, 2, 5);
}

// The constant prediction's loss, which the loss metric removes shares of: with the variants'
// answers near uniform over F = 4 classes, the label entropy is near log 4 and the mean action's
// half squared error near 0.5 * 4 * (1/4)(3/4) = 0.375 (512 query rows: the sampling error of
// either is about 0.01, the bound is 5 times that).
TEST(ProbeControls, ChanceLossIsTheConstantPredictionsLoss) {
  for (bool actions : {false, true}) {
    ControlConfig c = small_controls();
    c.actions = actions;
    const ControlFamily family(c, /*shared=*/false);
    const SubroutineSet set = first_subroutine_set(family);
    ASSERT_EQ(set.rows, 32 * c.query_rows);
    if (actions) {
      EXPECT_NEAR(set.chance_loss, 0.375, 0.05);
      // The mean action (0.25 per component) is within the 0.8 tolerance of every one-hot.
      EXPECT_EQ(set.chance, 1.0);
    } else {
      EXPECT_LE(set.chance_loss, std::log(4.0) + 1e-12);
      EXPECT_GT(set.chance_loss, std::log(4.0) - 0.05);
    }
  }
}

// A stand-in policy that answers every query row with the targets plus `shift`.
class ShiftedTargets : public MaskedPolicy {
 public:
  ShiftedTargets(trainer::Learner& learner, float shift)
      : MaskedPolicy(MaskTarget::kNetwork, learner), shift_(shift) {}
  double loss_and_grad(const std::vector<trainer::Batch>&, const MaskValues&,
                       MaskValues&) override {
    throw std::logic_error("not trained");
  }
  std::vector<torch::Tensor> outputs(const std::vector<trainer::Batch>& shards,
                                     const MaskValues&) override {
    std::vector<torch::Tensor> out;
    for (const trainer::Batch& b : shards) out.push_back(b.query.y.values + shift_);
    return out;
  }

 private:
  float shift_;
};

// The loss metric is 1 for a model without loss, a share in between, and 0 for a model as bad
// as the constant prediction or worse: a shift of 3 on every one-hot component costs
// 0.5 * 4 * 9 = 18 per row, about 48 times the mean action's 0.375, and still measures 0.
TEST(ProbeControls, LossMetricIsFlooredAtTheConstantPrediction) {
  ControlConfig c = small_controls();
  c.actions = true;
  const ControlFamily family(c, /*shared=*/false);
  const SubroutineSet set = first_subroutine_set(family);
  trainer::Learner& learner = *controls(ControlKind::kDense, true)[0].learner;
  const auto at = [&](float shift) {
    ShiftedTargets model(learner, shift);
    return measure(model, set, {}, family.action_tolerance(), Metric::kLoss);
  };
  EXPECT_EQ(at(0.0f), 1.0);
  // A shift of 0.2 costs 0.5 * 4 * 0.04 = 0.08 per row: 1 - 0.08 / chance_loss, up to the
  // float32 rounding of the shifted outputs and of their sum (relative 1e-6 at most here).
  EXPECT_NEAR(at(0.2f), 1.0 - 0.08 / set.chance_loss, 1e-5);
  EXPECT_EQ(at(3.0f), 0.0);
  EXPECT_EQ(at(-3.0f), 0.0);
}

// Action vectors whose mean passes the tolerance on every row, the lander's case to its end:
// accuracy cannot score them (the full model is no better than chance), the loss metric says
// "holds" for both parts of the dense control, and not for an untrained model.
TEST(ProbeControls, ActionsDenseHoldsUnderTheLossMetricOnly) {
  ProbeConfig config = small_probe({"last 2", "all"});
  for (const Verdict& v : verdicts(ControlKind::kDense, MaskTarget::kNetwork, config, true)) {
    EXPECT_FALSE(v.scored) << verdict_text(v);
    EXPECT_FALSE(v.holds) << verdict_text(v);
  }
  config.metric = Metric::kLoss;
  for (const Verdict& v : verdicts(ControlKind::kDense, MaskTarget::kNetwork, config, true))
    EXPECT_TRUE(v.holds) << verdict_text(v);
  for (const Verdict& v : verdicts(ControlKind::kUntrained, MaskTarget::kNetwork, config, true))
    EXPECT_FALSE(v.holds) << verdict_text(v);
}

}  // namespace
}  // namespace hc::probe
