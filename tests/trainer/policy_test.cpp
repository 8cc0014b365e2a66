// The closed-form inner gradient equals autograd's gradient of the same loss, for every policy,
// input kind and target kind, and to second order.
#include <gtest/gtest.h>

#include "tests/trainer/helpers.h"

namespace hc::trainer {
namespace {

using tasks::TargetKind;
using testing::synthetic_batch;
using testing::tiny_policy;

struct Case {
  std::string policy;
  bool binary;
  TargetKind kind;
};

// Readable test parameters in ctest's listing.
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.policy << (c.binary ? " sparse " : " dense ") << tasks::to_string(c.kind);
}

class PolicyGradient : public ::testing::TestWithParam<Case> {};

TEST_P(PolicyGradient, ClosedFormMatchesAutograd) {
  const Case c = GetParam();
  const Batch b = synthetic_batch(3, 7, 4, c.kind, c.binary, torch::kFloat64, 11);
  agents::Policy p = agents::make_policy(tiny_policy(c.policy), {7, 4, 0}, 5);
  p->to(torch::kFloat64);
  const agents::Features f = p->encode(b.support.x);
  agents::Fast fast = p->init_fast(3);
  // Move away from the shared initialisation so the tasks differ.
  for (auto& t : fast) t = t + 0.1 * torch::randn_like(t);

  const auto [loss, grads] = p->loss_and_grad(fast, f, b.support.y, /*create_graph=*/true);
  const torch::Tensor reference_loss = agents::task_loss(p->forward(fast, f), b.support.y);
  EXPECT_TRUE(torch::allclose(loss, reference_loss, 1e-10, 1e-12));
  const auto reference = torch::autograd::grad({reference_loss.sum()}, fast, {},
                                               /*retain_graph=*/true, /*create_graph=*/true);
  ASSERT_EQ(grads.size(), reference.size());
  for (size_t i = 0; i < grads.size(); ++i)
    EXPECT_TRUE(torch::allclose(grads[i], reference[i], 1e-9, 1e-11))
        << "fast parameter " << p->fast_names()[i] << ": max difference "
        << (grads[i] - reference[i]).abs().max().item<double>();

  // Second order: differentiate a function of the gradients once more, both ways.
  const auto params = p->parameters();
  torch::Tensor probe, reference_probe;
  for (size_t i = 0; i < grads.size(); ++i) {
    const torch::Tensor w =
        torch::linspace(-1, 1, grads[i].numel(), grads[i].options()).view_as(grads[i]);
    probe = i ? probe + (grads[i] * w).sum() : (grads[i] * w).sum();
    reference_probe = i ? reference_probe + (reference[i] * w).sum() : (reference[i] * w).sum();
  }
  const auto second = torch::autograd::grad({probe}, params, {}, true, false, true);
  const auto reference_second =
      torch::autograd::grad({reference_probe}, params, {}, true, false, true);
  for (size_t i = 0; i < params.size(); ++i) {
    if (!reference_second[i].defined()) continue;
    ASSERT_TRUE(second[i].defined()) << "parameter " << i;
    EXPECT_TRUE(torch::allclose(second[i], reference_second[i], 1e-8, 1e-10))
        << "parameter " << i << ": max difference "
        << (second[i] - reference_second[i]).abs().max().item<double>();
  }
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const std::string& p : testing::policy_names())
    for (bool binary : {false, true})
      for (TargetKind k :
           {TargetKind::kLabels, TargetKind::kSoft, TargetKind::kValues, TargetKind::kActions})
        out.push_back({p, binary, k});
  return out;
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, PolicyGradient, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           return info.param.policy + (info.param.binary ? "_sparse_" : "_dense_") +
                                  std::string(tasks::to_string(info.param.kind));
                         });

TEST(SparseInputs, MatchDenseInputs) {
  torch::manual_seed(3);
  const torch::Tensor x = (torch::rand({3, 4, 9}) < 0.3).to(torch::kFloat32);
  const agents::Inputs sparse = agents::Inputs::from_dense_binary(x);
  const agents::Inputs dense{3, 4, 9, x};
  EXPECT_TRUE(torch::equal(sparse.to_dense(), x));
  const torch::Tensor w = torch::randn({9, 5}), b = torch::randn({5});
  EXPECT_TRUE(torch::allclose(agents::shared_linear(sparse, w, b),
                              agents::shared_linear(dense, w, b), 1e-5, 1e-6));
  const torch::Tensor wt = torch::randn({3, 9, 5}), bt = torch::randn({3, 5});
  EXPECT_TRUE(torch::allclose(agents::per_task_linear(sparse, wt, bt),
                              agents::per_task_linear(dense, wt, bt), 1e-5, 1e-6));

  // Per-task weights: gradients agree to second order (the inner loop differentiates through
  // the first layer, the outer loop through that).
  const torch::Tensor w2 = torch::randn({3, 9, 5}, torch::kFloat64).requires_grad_();
  const auto grads = [&](const agents::Inputs& in) {
    const torch::Tensor y = agents::per_task_linear(in, w2, torch::Tensor());
    const torch::Tensor g = torch::autograd::grad({y.square().sum()}, {w2}, {}, true, true)[0];
    const torch::Tensor gg = torch::autograd::grad({g.square().sum()}, {w2})[0];
    return std::make_pair(g.detach(), gg);
  };
  const auto [gs, ggs] = grads(sparse);
  const auto [gd, ggd] = grads(dense);
  EXPECT_TRUE(torch::allclose(gs, gd, 1e-9, 1e-9));
  EXPECT_TRUE(torch::allclose(ggs, ggd, 1e-9, 1e-9));

  // The layout for per-task weights: dense at 30% active inputs, sparse at under 1%.
  EXPECT_FALSE(agents::per_task_layout(sparse).sparse());
  EXPECT_TRUE(torch::equal(agents::per_task_layout(sparse).dense, x));
  torch::Tensor rare = torch::zeros({2, 8, 400});
  rare.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), 7}, 1.0f);
  EXPECT_TRUE(agents::per_task_layout(agents::Inputs::from_dense_binary(rare)).sparse());
}

// The explicit dense network (what the probe masks) computes exactly what forward() computes,
// for every policy and both input layouts; the bank of a hypernetwork names real parameters.
TEST(PolicyNetwork, ReproducesForward) {
  for (const std::string& name : testing::policy_names())
    for (bool binary : {false, true}) {
      const Batch b = synthetic_batch(3, 7, 4, TargetKind::kLabels, binary, torch::kFloat64, 12);
      agents::Policy p = agents::make_policy(tiny_policy(name), {7, 4, 0}, 6);
      p->to(torch::kFloat64);
      agents::Fast fast = p->init_fast(3);
      for (auto& t : fast) t = t + 0.1 * torch::randn_like(t);
      const std::vector<agents::Layer> net = p->network(fast);
      ASSERT_EQ(net.size(), 3u) << name;  // input, hidden, output layer of num_hidden = 2
      EXPECT_EQ(net[0].w.size(1), 7) << name;
      EXPECT_EQ(net.back().w.size(2), 4) << name;
      const torch::Tensor expected = p->forward(fast, p->encode(b.query.x));
      const torch::Tensor got = agents::network_forward(net, b.query.x);
      EXPECT_TRUE(torch::allclose(got, expected, 1e-10, 1e-12))
          << name << (binary ? " sparse" : " dense") << ": max difference "
          << (got - expected).abs().max().item<double>();
      const auto bank = p->bank_parameters();
      EXPECT_EQ(bank.empty(), name == "anil" || name == "learned_init") << name;
      const auto named = p->named_parameters();
      for (const auto& key : bank) EXPECT_NE(named.find(key), nullptr) << name << " " << key;
    }
}

}  // namespace
}  // namespace hc::trainer
