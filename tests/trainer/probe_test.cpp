// The structural compositionality probe finds structure that is known to be there, and finds
// none where there is none; its gradients, schedule, masks and configuration.
#include <gtest/gtest.h>

#include <cmath>

#include "families/registry.h"
#include "tests/trainer/helpers.h"
#include "trainer/probe.h"

namespace hc::trainer {
namespace {

using tasks::TargetKind;
using testing::synthetic_batch;
using testing::tiny_policy;

// Rows of one-hot inputs over 4 features, and 5 classes: feature f is class f, class 4 is what a
// network answers when nothing reaches its output but the bias.
//   disjoint  task a shows features 0 and 1, task b features 2 and 3; subroutine a is task a,
//             subroutine b task b.
//   shared    both tasks show all four features; subroutine even counts the even rows of every
//             task, odd the odd rows: the same computation on the same kind of rows.
class TwoParts : public tasks::TaskFamily {
 public:
  explicit TwoParts(bool shared)
      : TaskFamily("two_parts", tasks::TaskSpace::categorical({{"part", {"a", "b"}}}),
                   tasks::SplitSpec{}, 1, false),
        shared_(shared) {}
  int input_dim() const override { return 4; }
  int output_dim() const override { return 5; }
  TargetKind target_kind() const override { return TargetKind::kLabels; }

  tasks::TaskData make_task_data(const tasks::Task& task, uint64_t seed) const override {
    tasks::TaskData d;
    d.task = instance(task, seed);
    d.latent = task_space().latent(d.task);
    Rng rng(seed);
    const auto fill = [&](tasks::Dataset& set, int rows) {
      for (int r = 0; r < rows; ++r) {
        const int f = shared_ ? static_cast<int>(rng.uniform_int(4))
                              : 2 * task.values[0] + static_cast<int>(rng.uniform_int(2));
        for (int j = 0; j < 4; ++j) set.inputs.push_back(j == f ? 1.0f : 0.0f);
        set.labels.push_back(f);
        set.mask.push_back(1.0f);
        ++set.rows;
      }
    };
    fill(d.support, 4);
    fill(d.query, 16);
    return d;
  }

  std::vector<tasks::Subroutine> subroutines() const override {
    if (shared_) {
      tasks::Subroutine even{"even", "even rows"}, odd{"odd", "odd rows"};
      even.counts_row = [](const tasks::Dataset&, int64_t r) { return r % 2 == 0; };
      odd.counts_row = [](const tasks::Dataset&, int64_t r) { return r % 2 == 1; };
      return {even, odd};
    }
    tasks::Subroutine a{"a", "features 0 and 1"}, b{"b", "features 2 and 3"};
    a.uses_task = [](const tasks::Task& t) { return t.values[0] == 0; };
    b.uses_task = [](const tasks::Task& t) { return t.values[0] == 1; };
    return {a, b};
  }

 protected:
  YAML::Node config_fields() const override { return YAML::Node(YAML::NodeType::Map); }

 private:
  bool shared_;
};

agents::PolicyConfig path_config() {
  agents::PolicyConfig c;
  c.name = agents::PolicyKind::kLearnedInit;
  c.hidden = 16;
  c.num_hidden = 1;
  return c;
}

// 4 -> 16 -> 5 with one path per feature: w0[f][f] = w1[f][f] = 3, every other weight zero, and
// an output bias of 1 on class 4. A feature whose path is cut leaves class 4 as the answer.
agents::Policy path_network() {
  agents::Policy p = agents::make_policy(path_config(), {4, 5, 0}, 1);
  torch::NoGradGuard no_grad;
  auto named = p->named_parameters();
  for (auto& kv : named) kv.value().zero_();
  for (int f = 0; f < 4; ++f) {
    named["w0"][f][f] = 3.0;
    named["w1"][f][f] = 3.0;
  }
  named["b1"][4] = 1.0;
  return p;
}

LearnerConfig no_adaptation() {
  LearnerConfig c;
  c.inner_steps = 0;  // the hand-made network is the network that predicts
  return c;
}

ProbeConfig small_probe() {
  ProbeConfig c;
  c.epochs = 30;
  c.train_tasks = 8;
  c.batch = 4;
  c.select_tasks = 8;
  c.test_tasks = 16;
  c.seeds = 3;
  c.random_ablations = 5;
  c.search.lr = {1e-2};
  c.search.init = {0.0, -0.05};
  return c;
}

ProbeModel model_of(Learner& learner) {
  ProbeModel m;
  m.label = "paths";
  m.policy = "learned_init";
  m.learner = &learner;
  m.seed = 7;
  m.shards = 2;
  m.untrained = [](uint64_t seed) {
    return std::make_unique<Learner>(agents::make_policy(path_config(), {4, 5, 0}, seed),
                                     no_adaptation(), 1, true);
  };
  return m;
}

TEST(Probe, TemperatureRisesGeometricallyFromOneToTheFinalOne) {
  const ProbeConfig defaults;
  EXPECT_EQ(defaults.epochs, 90);
  EXPECT_EQ(defaults.final_temperature, 200.0);
  EXPECT_EQ(defaults.lambda, 1e-8);
  EXPECT_EQ(mask_temperature(0, 90, 200.0), 1.0);
  EXPECT_NEAR(mask_temperature(89, 90, 200.0), 200.0, 1e-10);
  const double ratio = std::pow(200.0, 1.0 / 89.0);
  for (int e = 0; e + 1 < 90; ++e)
    EXPECT_NEAR(mask_temperature(e + 1, 90, 200.0) / mask_temperature(e, 90, 200.0), ratio, 1e-12);
}

// Student-t intervals (quantiles from tables: t(0.975; 1) = 12.706, t(0.975; 4) = 2.776).
TEST(Probe, IntervalsAreStudentT) {
  const Interval two = mean_interval({0.0, 2.0}, 0.95);
  EXPECT_EQ(two.n, 2);
  EXPECT_DOUBLE_EQ(two.mean, 1.0);
  EXPECT_NEAR(two.hi - two.mean, 12.706, 1e-3);  // standard error 1
  const Interval five = mean_interval({1, 2, 3, 4, 5}, 0.95);
  EXPECT_NEAR(five.hi - five.mean, 2.776 * std::sqrt(2.5 / 5), 1e-3);
  EXPECT_NEAR(five.mean - five.lo, five.hi - five.mean, 1e-12);
  const Interval one = mean_interval({0.3}, 0.95);
  EXPECT_EQ(one.lo, 0.3);
  EXPECT_EQ(one.hi, 0.3);
  EXPECT_EQ(mean_interval({}, 0.95).n, 0);
}

TEST(Probe, HardMaskKeepsPositiveLogitsAndAblationTheRest) {
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
}

// Disjoint paths: a mask trained on one subroutine keeps exactly that subroutine's path, the
// same way whatever the thread count, and the probe's verdict is evidence for both.
TEST(Probe, RecoversDisjointPaths) {
  const TwoParts family(/*shared=*/false);
  agents::Policy p = path_network();
  Learner learner(p, no_adaptation(), 1, true);
  const ProbeConfig config = small_probe();

  const std::vector<tasks::Subroutine> subs = family.subroutines();
  const SubroutineSet train = make_subroutine_set(family, subs[0], {0}, 8, 4, 2, 11);
  const auto masked = MaskedPolicy::make(MaskTarget::kNetwork, learner);
  ASSERT_EQ(masked->units().size(), 2u);
  for (const auto& b : train.batches) masked->prepare(b);
  const MaskTraining t = train_mask(*masked, train.batches, config, {1e-2, -0.05, "all"}, 5);
  const MaskValues hard = hard_mask(t.logits);
  // Every other weight is zero or sees a zero input on subroutine a's rows: no task gradient,
  // so only the sparsity penalty moves its logit, downwards.
  torch::Tensor w0 = torch::zeros({4, 16}), w1 = torch::zeros({16, 5});
  for (int f : {0, 1}) w0[f][f] = 1.0f, w1[f][f] = 1.0f;
  EXPECT_TRUE(torch::equal(hard[0], w0)) << hard[0];
  EXPECT_TRUE(torch::equal(hard[1], w1)) << hard[1];

  Learner two_threads(p, no_adaptation(), 2, true);
  const auto masked2 = MaskedPolicy::make(MaskTarget::kNetwork, two_threads);
  for (const auto& b : train.batches) masked2->prepare(b);
  const MaskTraining t2 = train_mask(*masked2, train.batches, config, {1e-2, -0.05, "all"}, 5);
  for (size_t u = 0; u < t.logits.size(); ++u) EXPECT_TRUE(torch::equal(t.logits[u], t2.logits[u]));

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
      EXPECT_TRUE(m.random_model);
    }
    const Verdict v = judge(score_masks(r, sp), config.min_effect, config.confidence);
    EXPECT_TRUE(v.holds) << r.subroutines[k] << ": subnetwork " << v.subnetwork.mean
                         << ", ablation " << v.ablation.mean << ", random ablation "
                         << v.random_ablation.mean;
    EXPECT_NEAR(v.subnetwork.mean, 1.0 - r.chance[k], 1e-12);
    EXPECT_NEAR(v.ablation.mean, -(1.0 - r.chance[other]), 1e-12);
  }
  // The same configuration and seed give the same probe.
  const ModelProbe again = probe(family, model_of(learner), MaskTarget::kNetwork, config, {"b"});
  ASSERT_EQ(again.probes.size(), 1u);
  EXPECT_EQ(again.probes[0].masks[2].subnetwork, r.probes[1].masks[2].subnetwork);
  EXPECT_EQ(again.probes[0].masks[2].random_ablation_scores,
            r.probes[1].masks[2].random_ablation_scores);
  EXPECT_EQ(again.probes[0].masks[2].random_subnetwork, r.probes[1].masks[2].random_subnetwork);
}

// Shared weights: the mask for even rows must keep every path, which odd rows use as well, so
// its ablation breaks both subroutines alike: no evidence.
TEST(Probe, FindsNoEvidenceWhenSubroutinesShareTheirWeights) {
  const TwoParts family(/*shared=*/true);
  agents::Policy p = path_network();
  Learner learner(p, no_adaptation(), 1, true);
  const ProbeConfig config = small_probe();
  const ModelProbe r = probe(family, model_of(learner), MaskTarget::kNetwork, config, {});
  ASSERT_EQ(r.probes.size(), 2u);
  for (const SubroutineProbe& sp : r.probes) {
    const size_t k = sp.index, other = 1 - k;
    for (const MaskResult& m : sp.masks) {
      EXPECT_EQ(m.subnetwork, (std::vector<double>{1.0, 1.0}));
      EXPECT_EQ(m.ablated, (std::vector<double>{0.0, 0.0}));
    }
    const Verdict v = judge(score_masks(r, sp), config.min_effect, config.confidence);
    EXPECT_FALSE(v.ablation_ok);
    EXPECT_FALSE(v.holds);
    // Both at zero accuracy: nothing above chance on either side.
    EXPECT_EQ(v.ablation.mean, 0.0);
    // Both perfect: the separation is the difference of the chance levels alone.
    EXPECT_NEAR(v.subnetwork.mean, r.chance[other] - r.chance[k], 1e-12);
  }
}

// The mask gradients (through the inner loop for the bank) match finite differences of the
// masked loss, for both targets of a hypernetwork; the bank is restored afterwards.
TEST(Probe, MaskGradientsMatchFiniteDifferences) {
  for (MaskTarget target : {MaskTarget::kNetwork, MaskTarget::kBank}) {
    agents::PolicyConfig pc = tiny_policy("hnet_linear");
    pc.normalize_embedding = false;
    agents::Policy p = agents::make_policy(pc, {6, 3, 0}, 9);
    p->to(torch::kFloat64);
    LearnerConfig lc;
    lc.inner_steps = 2;
    lc.inner_lr = 0.1;
    Learner learner(p, lc, 1, true);
    const std::vector<Batch> shards = {
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
          EXPECT_NEAR(grad[u].reshape({-1})[j].item<double>(), fd, 1e-6 + 1e-4 * std::abs(fd))
              << name_of(target) << " unit " << masked->units()[u].name << " entry " << j;
        }
    }
    const auto after = p->parameters();
    for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(torch::equal(before[i], after[i]));
  }
}

TEST(Probe, TargetsOfEachPolicy) {
  for (const std::string& name : testing::policy_names()) {
    Learner learner(agents::make_policy(tiny_policy(name), {6, 3, 0}, 1), LearnerConfig{}, 1, true);
    const auto all = mask_targets(learner, ProbeTargets::kAll);
    const bool hnet = name.rfind("hnet", 0) == 0;
    EXPECT_EQ(all.size(), hnet ? 2u : 1u) << name;
    EXPECT_EQ(all[0], MaskTarget::kNetwork);
    if (!hnet) {
      EXPECT_THROW(mask_targets(learner, ProbeTargets::kBank), Error) << name;
    }
  }
}

TEST(Probe, ErrorsNameWhatIsWrong) {
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

  const std::vector<MaskUnit> units = {{"layer0", {2, 2}}, {"layer1", {2, 2}}, {"layer2", {2, 1}}};
  EXPECT_EQ(parse_layers("layer0, layer2", units), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(parse_layers("all", units), (std::vector<bool>{true, true, true}));
  const std::string bad = message([&] { parse_layers("layer0,layer9", units); });
  EXPECT_NE(bad.find("unknown unit 'layer9'"), std::string::npos) << bad;
  EXPECT_NE(bad.find("layer0, layer1, layer2"), std::string::npos) << bad;
}

TEST(Probe, ConfigReadsDefaultsOverridesAndRejectsBadValues) {
  const ProbeConfig d = load_probe_config("");
  EXPECT_EQ(d.search.lr, (std::vector<double>{1e-2, 1e-3, 1e-4}));
  EXPECT_EQ(d.search.init, (std::vector<double>{0.1, 0.05, 0.0, -0.05}));
  const ProbeConfig c = load_probe_config("", {"probe.epochs=5", "probe.search.init=[0.0]"});
  EXPECT_EQ(c.epochs, 5);
  EXPECT_EQ(c.search.init, (std::vector<double>{0.0}));
  EXPECT_THROW(load_probe_config("", {"probe.epoch=5"}), ConfigError);
  EXPECT_THROW(load_probe_config("", {"probe.search.lr=[]"}), ConfigError);
  EXPECT_THROW(load_probe_config("", {"probe.targets=weights"}), ConfigError);
  EXPECT_THROW(load_probe_config("", {"epochs=5"}), ConfigError);
  // The documented file is the defaults.
  EXPECT_EQ(
      to_yaml(probe_config_yaml(load_probe_config(HYPERCOMP_SOURCE_DIR "/configs/probe.yaml"))),
      to_yaml(probe_config_yaml(ProbeConfig{})));
  // What is written reads back the same.
  const YAML::Node written = probe_config_yaml(c);
  ConfigReader reader(written, "<test>", "");
  ProbeConfig back;
  reader("probe", back, "");
  EXPECT_EQ(back.epochs, 5);
  EXPECT_EQ(back.search.init, c.search.init);
}

}  // namespace
}  // namespace hc::trainer
