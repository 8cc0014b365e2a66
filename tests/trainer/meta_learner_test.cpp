#include <gtest/gtest.h>

#include "base/error.h"
#include "families/registry.h"
#include "tests/trainer/helpers.h"
#include "trainer/meta_learner.h"

namespace hc::trainer {
namespace {

using tasks::TargetKind;
using testing::synthetic_batch;
using testing::tiny_policy;

LearnerConfig tiny_learner(bool first_order, const std::string& optimizer = "adamw",
                           double inner_clip = 0.0) {
  LearnerConfig c;
  c.inner_grad_clip = inner_clip;
  c.inner_steps = 3;
  c.inner_lr = 0.1;
  c.inner_optimizer = enum_value<InnerKind>(optimizer);
  c.first_order = first_order;
  return c;
}

struct FdCase {
  std::string policy;
  bool binary;
  std::string optimizer;
  double inner_clip = 0.0;  // small enough to be active on every inner step
};

class MetaGradient : public ::testing::TestWithParam<FdCase> {};

// The second-order meta-gradient matches central finite differences of the query loss.
TEST_P(MetaGradient, MatchesFiniteDifferences) {
  const FdCase c = GetParam();
  const std::vector<Batch> shards = {
      synthetic_batch(2, 6, 3, TargetKind::kLabels, c.binary, torch::kFloat64, 21),
      synthetic_batch(1, 6, 3, TargetKind::kLabels, c.binary, torch::kFloat64, 22)};
  // The embedding normalisation's scale is deliberately not differentiated, which finite
  // differences would see; everything else is the default model.
  agents::PolicyConfig pc = tiny_policy(c.policy);
  pc.normalize_embedding = false;
  agents::Policy p = agents::make_policy(pc, {6, 3, 0}, 9);
  p->to(torch::kFloat64);
  {
    // Zero biases put pre-activations exactly on ReLU kinks, where finite differences of the
    // (piecewise smooth) meta-loss are meaningless; move every parameter off them.
    torch::NoGradGuard no_grad;
    torch::manual_seed(1);
    for (auto& t : p->parameters()) t.add_(0.1 * torch::randn_like(t));
  }
  Learner learner(p, tiny_learner(false, c.optimizer, c.inner_clip), 1, true);
  StepStats stats;
  const std::vector<torch::Tensor> grads = learner.meta_gradient(shards, stats);
  const auto params = p->parameters();
  const auto loss = [&] {
    StepStats s;
    learner.meta_gradient(shards, s);
    return s.loss;
  };
  Rng rng(4);
  const double h = 1e-5;
  int checked = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    for (int k = 0; k < 4; ++k) {
      const int64_t j = static_cast<int64_t>(rng.uniform_int(params[i].numel()));
      double* x = params[i].data_ptr<double>() + j;
      const double saved = *x;
      *x = saved + h;
      const double up = loss();
      *x = saved - h;
      const double down = loss();
      *x = saved;
      const double fd = (up - down) / (2 * h);
      const double analytic = grads[i].reshape({-1})[j].item<double>();
      EXPECT_NEAR(analytic, fd, 1e-6 + 1e-4 * std::abs(fd)) << "parameter " << i << " entry " << j;
      ++checked;
    }
  }
  EXPECT_GT(checked, 8);

  // The second-order terms matter here: dropping them changes the gradient.
  Learner first(p, tiny_learner(true, c.optimizer, c.inner_clip), 1, true);
  StepStats s1;
  const auto g1 = first.meta_gradient(shards, s1);
  double diff = 0;
  for (size_t i = 0; i < grads.size(); ++i) diff += (grads[i] - g1[i]).abs().sum().item<double>();
  EXPECT_GT(diff, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(
    Policies, MetaGradient,
    ::testing::Values(FdCase{"hnet_linear", false, "adamw"}, FdCase{"hnet_linear", true, "adamw"},
                      FdCase{"hnet_linear", false, "sgd"}, FdCase{"hnet_mlp", true, "adam"},
                      FdCase{"anil", true, "adamw"}, FdCase{"learned_init", false, "sgd"},
                      FdCase{"learned_init", true, "adamw"}, FdCase{"learned_init", true, "sgd"},
                      FdCase{"learned_init", false, "adamw"}, FdCase{"anil", false, "adamw"},
                      FdCase{"anil", true, "sgd"}, FdCase{"hnet_linear", false, "sgd", 0.01},
                      FdCase{"learned_init", true, "adamw", 0.01}),
    [](const auto& info) {
      return info.param.policy + (info.param.binary ? "_sparse_" : "_dense_") +
             info.param.optimizer + (info.param.inner_clip > 0 ? "_clipped" : "");
    });

TEST(OuterSchedule, ConstantAndCosine) {
  LearnerConfig c;
  c.outer_lr = 0.01;
  EXPECT_EQ(outer_lr_at(c, 500, 1000), 0.01);
  c.outer_schedule = Schedule::kCosine;
  EXPECT_DOUBLE_EQ(outer_lr_at(c, 0, 1000), 0.01);
  EXPECT_NEAR(outer_lr_at(c, 500, 1000), 0.005, 1e-12);
  EXPECT_LT(outer_lr_at(c, 999, 1000), 1e-6);
  EXPECT_GT(outer_lr_at(c, 999, 1000), 0.0);
}

// Inner gradient clipping scales each task's gradient, over all fast parameters together, to
// at most the limit, and leaves tasks under the limit untouched.
TEST(InnerOptimizer, ClipsEachTaskToTheLimit) {
  InnerOptimizer opt;
  opt.grad_clip = 1.0;
  const torch::Tensor a = torch::tensor({{3.0, 4.0}, {0.3, 0.4}, {0.0, 0.0}}, torch::kFloat64);
  const torch::Tensor b = torch::tensor({{{12.0}}, {{0.0}}, {{0.0}}}, torch::kFloat64);
  const auto out = opt.clip({a, b});
  const torch::Tensor norms =
      (out[0].square().sum(1) + out[1].reshape({3, -1}).square().sum(1)).sqrt();
  EXPECT_NEAR(norms[0].item<double>(), 1.0, 1e-9);  // 13 -> 1
  EXPECT_NEAR(norms[1].item<double>(), 0.5, 1e-9);  // under the limit: unchanged
  EXPECT_EQ(norms[2].item<double>(), 0.0);
  EXPECT_NEAR(out[1][0][0][0].item<double>(), 12.0 / 13.0, 1e-9);
  EXPECT_TRUE(torch::isfinite(out[0]).all().item<bool>());
}

// On every family, adaptation lowers the support loss of the initial policy.
// The fused Adam/AdamW step computes, forward and backward, exactly what the tensor expression
// of the update computes with LibTorch's own operations and autograd.
TEST(InnerOptimizer, FusedStepIsTheTensorExpressionToTheLastBit) {
  for (const auto dtype : {torch::kFloat32, torch::kFloat64})
    for (const char* kind : {"adam", "adamw"})
      for (int t : {1, 3}) {
        torch::manual_seed(t);
        const auto opt = torch::TensorOptions().dtype(dtype);
        const torch::Tensor p0 = torch::randn({4, 3, 5}, opt).requires_grad_();
        const torch::Tensor g0 = (torch::randn({4, 3, 5}, opt) * 1e-3).requires_grad_();
        const torch::Tensor m0 = (torch::randn({4, 3, 5}, opt) * 1e-3).requires_grad_();
        const torch::Tensor v0 = (torch::rand({4, 3, 5}, opt) * 1e-6).requires_grad_();
        const std::vector<torch::Tensor> up = {torch::randn({4, 3, 5}, opt),
                                               torch::randn({4, 3, 5}, opt),
                                               torch::randn({4, 3, 5}, opt)};
        InnerOptimizer o;
        o.kind = enum_value<InnerKind>(kind);
        o.lr = 0.3;
        o.weight_decay = 0.01;
        // The expression, written with tensor operations.
        const double c1 = 1.0 - std::pow(o.b1, t), c2 = 1.0 - std::pow(o.b2, t);
        const torch::Tensor m = o.b1 * m0 + (1.0 - o.b1) * g0;
        const torch::Tensor v = o.b2 * v0 + (1.0 - o.b2) * g0 * g0;
        torch::Tensor u = (m / c1) / ((v / c2 + o.eps_root).sqrt() + o.eps);
        if (o.kind == InnerKind::kAdamw) u = u + o.weight_decay * p0;
        const torch::Tensor p = p0 - o.lr * u;
        const auto want = torch::autograd::grad({p, m, v}, {p0, g0, m0, v0}, up);
        // The optimiser.
        InnerOptimizer::State s;
        s.m = {m0};
        s.v = {v0};
        s.t = t - 1;
        const torch::Tensor fused = o.step({p0}, {g0}, s)[0];
        EXPECT_TRUE(torch::equal(fused, p) && torch::equal(s.m[0], m) && torch::equal(s.v[0], v))
            << kind << " step " << t;
        const auto got = torch::autograd::grad({fused, s.m[0], s.v[0]}, {p0, g0, m0, v0}, up);
        for (size_t i = 0; i < got.size(); ++i)
          EXPECT_TRUE(torch::equal(got[i], want[i]))
              << kind << " step " << t << " gradient " << i << ": max difference "
              << (got[i] - want[i]).abs().max().item<double>();
      }
}

class InnerLoop : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(InnerLoop, LowersTheSupportLoss) {
  const auto& [family_name, policy_name] = GetParam();
  const auto family = families::make_family(family_name);
  agents::PolicyConfig pc;
  pc.name = enum_value<agents::PolicyKind>(policy_name);
  pc.hidden = 32;
  agents::Policy p = agents::make_policy(pc, {family->input_dim(), family->output_dim(), 0}, 3);
  LearnerConfig lc;
  lc.inner_steps = 10;
  const bool hypernetwork =
      pc.name == agents::PolicyKind::kHnetLinear || pc.name == agents::PolicyKind::kHnetMlp;
  // One step size for every family, so it must be stable on each: at 0.3 plain SGD overshoots
  // on push's 22 dense inputs (its support loss rises); from 0.03 to 0.1 every family adapts.
  lc.inner_lr = hypernetwork ? 0.1 : 0.03;
  Learner learner(p, lc, 2, true);
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  training_tasks(*family, 5, 0, 8, ids, seeds);
  const auto batches = make_batches(*family, ids, seeds, 1);
  const Adapted a = learner.adapt(batches[0]);
  torch::NoGradGuard no_grad;
  const torch::Tensor after =
      agents::task_loss(p->forward(a.fast, p->encode(batches[0].support.x)), batches[0].support.y);
  EXPECT_LT(after.mean().item<double>(), a.support_before.mean().item<double>() * 0.95)
      << "before " << a.support_before.mean().item<double>() << " after "
      << after.mean().item<double>();
}

INSTANTIATE_TEST_SUITE_P(FamiliesAndPolicies, InnerLoop,
                         ::testing::Combine(::testing::ValuesIn(families::family_names()),
                                            ::testing::ValuesIn(testing::policy_names())),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

// adapt(b, k) runs k inner steps in place of learner.inner_steps: the configured count gives the
// same parameters bitwise, 0 keeps the starting point, more steps continue the same trajectory
// (so the support loss before the last step of 20 is the one after 19 of them). An imitation
// learner takes no inner steps and refuses a count.
TEST(Learner, AdaptTakesTheGivenInnerSteps) {
  const auto family = families::make_family("theory");
  agents::PolicyConfig pc;
  pc.name = agents::PolicyKind::kHnetLinear;
  agents::Policy p = agents::make_policy(pc, {family->input_dim(), family->output_dim(), 0}, 4);
  LearnerConfig lc;
  lc.inner_steps = 5;
  lc.inner_lr = 0.1;  // stable for hypernetworks (InnerLoop above)
  Learner learner(p, lc, 1, true);
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  training_tasks(*family, 4, 0, 4, ids, seeds);
  const Batch b = make_batches(*family, ids, seeds, 1)[0];
  const Adapted own = learner.adapt(b), five = learner.adapt(b, 5), none = learner.adapt(b, 0);
  const agents::Fast init = p->init_fast(b.tasks);
  ASSERT_EQ(own.fast.size(), five.fast.size());
  for (size_t i = 0; i < own.fast.size(); ++i) {
    EXPECT_TRUE(torch::equal(own.fast[i], five.fast[i])) << "fast parameter " << i;
    EXPECT_TRUE(torch::equal(none.fast[i], init[i].expand_as(none.fast[i]))) << "parameter " << i;
    EXPECT_FALSE(torch::equal(own.fast[i], none.fast[i])) << "parameter " << i;
  }
  EXPECT_TRUE(torch::equal(none.support_before, none.support_after));
  EXPECT_TRUE(torch::equal(own.support_before, none.support_before));
  const Adapted longer = learner.adapt(b, 20), nineteen = learner.adapt(b, 19);
  torch::NoGradGuard no_grad;
  const torch::Tensor after19 =
      agents::task_loss(p->forward(nineteen.fast, p->encode(b.support.x)), b.support.y);
  // The same parameters, the loss summed in another order (the fused inner loop sums its own):
  // two float32 sums of ~10^3 positive terms differ by at most about 2 x 10^3 x 6e-8.
  EXPECT_TRUE(torch::allclose(longer.support_after, after19, 2e-4, 0.0))
      << longer.support_after << " vs " << after19;
  EXPECT_LT(longer.support_after.mean().item<double>(), own.support_after.mean().item<double>());
  EXPECT_THROW(learner.adapt(b, -1), ConfigError);

  LearnerConfig ic;
  ic.name = LearnerKind::kImitation;
  Learner imitation(
      agents::make_policy(
          pc, {family->input_dim(), family->output_dim(), family->task_space().latent_dim()}, 4),
      ic, 1, true);
  EXPECT_NO_THROW(imitation.adapt(b));
  EXPECT_THROW(imitation.adapt(b, 3), ConfigError);
}

// The meta-batch is cut into a fixed number of shards whatever the thread count, each shard is
// computed by one thread with one torch thread, and shard gradients are summed in shard order.
// So the thread count changes only which thread computes a shard, never the arithmetic: runs
// with 1 and 2 threads must agree bitwise, as must two runs with the same count.
TEST(Learner, BitwiseIdenticalForAnyThreadCount) {
  const auto family = families::make_family("compositional_goals");
  const auto run = [&](int threads) {
    agents::PolicyConfig pc;
    agents::Policy p = agents::make_policy(pc, {family->input_dim(), family->output_dim(), 0}, 8);
    LearnerConfig lc;
    lc.meta_batch = 16;
    lc.inner_steps = 3;
    Learner learner(p, lc, threads, true);
    std::vector<int64_t> ids;
    std::vector<uint64_t> seeds;
    for (int step = 0; step < 3; ++step) {
      training_tasks(*family, 1, step, 16, ids, seeds);
      learner.step(make_batches(*family, ids, seeds, /*shards=*/4));
    }
    return torch::cat([&] {
      std::vector<torch::Tensor> flat;
      for (const auto& t : p->parameters()) flat.push_back(t.detach().reshape({-1}));
      return flat;
    }());
  };
  const torch::Tensor one = run(1);
  for (int threads : {1, 2}) {
    const torch::Tensor other = run(threads);
    EXPECT_TRUE(torch::equal(one, other))
        << threads << " threads: max difference " << (one - other).abs().max().item<double>();
  }
}

TEST(Learner, SkipsNonFiniteMetaGradients) {
  const Batch b = synthetic_batch(2, 6, 3, TargetKind::kValues, false, torch::kFloat32, 3);
  Batch bad = b;
  bad.query.y.values = b.query.y.values.clone();
  bad.query.y.values[0][0][0] = std::numeric_limits<float>::infinity();
  agents::Policy p = agents::make_policy(tiny_policy("hnet_linear"), {6, 3, 0}, 9);
  Learner learner(p, tiny_learner(false), 1, true);
  const torch::Tensor before = p->parameters()[0].clone();
  const StepStats s = learner.step({bad});
  EXPECT_TRUE(s.skipped);
  EXPECT_EQ(learner.skipped_steps(), 1);
  EXPECT_TRUE(torch::equal(before, p->parameters()[0]));
  EXPECT_FALSE(learner.step({b}).skipped);
  EXPECT_FALSE(torch::equal(before, p->parameters()[0]));
}

}  // namespace
}  // namespace hc::trainer
