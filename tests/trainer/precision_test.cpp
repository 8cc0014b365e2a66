// bfloat16 products (agents/precision.h): rounding, per-product error bounds, and the
// meta-gradient of every policy against float32. On a CPU without bfloat16 instructions the
// same tests check the documented fallback: a bf16 request computes exactly in float32.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "agents/bmm.h"
#include "agents/precision.h"
#include "families/registry.h"
#include "tests/trainer/helpers.h"
#include "trainer/batch.h"
#include "trainer/config.h"
#include "trainer/meta_learner.h"

namespace hc::agents {
namespace {

// Round to nearest, ties to even, written from the definition (the reference for the
// vectorised conversion).
uint16_t reference_bf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  if ((u & 0x7f800000u) == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);  // subnormal
  const uint32_t lower = u & 0xffffu, upper = u >> 16;
  if (lower > 0x8000u || (lower == 0x8000u && (upper & 1u)))
    return static_cast<uint16_t>(upper + 1);
  return static_cast<uint16_t>(upper);
}

float from_bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

TEST(Bf16, ConversionRoundsToNearestEven) {
  if (!bf16_supported()) {
    EXPECT_THROW(bf16::convert(nullptr, nullptr, 0), c10::Error);
    return;
  }
  std::vector<float> x = {0.0f,
                          -0.0f,
                          1.0f,
                          -1.0f,
                          1.00390625f /* tie, even below */,
                          1.01171875f /* tie, odd below */,
                          1.0039063f,
                          65504.0f,
                          std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::infinity(),
                          -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(),
                          1e-40f /* subnormal */};
  torch::manual_seed(3);
  const torch::Tensor r = torch::randn({1000}) * 100;
  for (int64_t i = 0; i < r.numel(); ++i) x.push_back(r[i].item<float>());
  std::vector<uint16_t> out(x.size());
  bf16::convert(x.data(), out.data(), static_cast<int64_t>(x.size()));  // with a masked tail
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(from_bf16(out[i])));
      continue;
    }
    EXPECT_EQ(out[i], reference_bf16(x[i])) << "x = " << x[i];
  }
}

struct ProductCase {
  bool ta, tb, bias, mask;
};

class Bf16Product : public ::testing::TestWithParam<ProductCase> {};

// Each entry of a bfloat16 product is within the bound that follows from rounding its two
// operands, checked against float64: |fl(a) fl(b) - a b| <= (2u + u^2) |a||b| per term, u = 2^-8
// being bfloat16's unit roundoff, plus float32 accumulation over the k terms, at most
// k 2^-24 sum|a||b|.
TEST_P(Bf16Product, WithinTheOperandRoundingBound) {
  const ProductCase c = GetParam();
  const int64_t t = 5, m = 70, k = 96, n = 80;  // above the size products switch at
  torch::manual_seed(11);
  const torch::Tensor a = c.ta ? torch::randn({t, k, m}) : torch::randn({t, m, k});
  const torch::Tensor b = c.tb ? torch::randn({t, n, k}) : torch::randn({t, k, n});
  const torch::Tensor bias = torch::randn({t, n});
  const torch::Tensor mask = (torch::rand({t, m, n}) > 0.5).to(torch::kFloat32);
  const auto product = [&] {
    if (c.bias) return task_baddbmm(bias, a, b);
    if (c.mask) return task_bmm_masked(a, b, c.ta, c.tb, mask);
    return task_bmm(a, b, c.ta, c.tb);
  };
  const torch::Tensor fp32 = product();
  torch::Tensor low;
  {
    const PrecisionScope scope(Precision::kBf16);
    EXPECT_EQ(current_precision(), bf16_supported() ? Precision::kBf16 : Precision::kFp32);
    low = product();
  }
  EXPECT_EQ(current_precision(), Precision::kFp32);  // the scope ends with its block
  if (!bf16_supported()) {
    EXPECT_TRUE(torch::equal(low, fp32)) << "the fallback is float32, bit for bit";
    return;
  }
  const auto op = [](const torch::Tensor& x, bool tr) {
    return (tr ? x.transpose(1, 2) : x).to(torch::kFloat64);
  };
  const torch::Tensor A = op(a, c.ta), B = op(b, c.tb);
  torch::Tensor exact = torch::bmm(A, B), scale = torch::bmm(A.abs(), B.abs());
  if (c.bias) exact = exact + bias.to(torch::kFloat64).unsqueeze(1);
  if (c.mask) {
    exact = exact * mask.to(torch::kFloat64);
    scale = scale * mask.to(torch::kFloat64);
  }
  const double u = std::ldexp(1.0, -8), f32 = std::ldexp(1.0, -24);
  const double bound = 2 * u + u * u + k * f32;
  const torch::Tensor err = (low.to(torch::kFloat64) - exact).abs();
  EXPECT_LE((err - bound * scale).max().item<double>(), 1e-12);
  // And it is a bfloat16 product, not float32 by another route: float32 is far more exact.
  const double err32 = (fp32.to(torch::kFloat64) - exact).abs().max().item<double>();
  EXPECT_GT(err.max().item<double>(), 10 * err32);
}

INSTANTIATE_TEST_SUITE_P(Layouts, Bf16Product,
                         ::testing::Values(ProductCase{false, false, false, false},
                                           ProductCase{false, true, false, false},
                                           ProductCase{true, false, false, false},
                                           ProductCase{true, true, false, false},
                                           ProductCase{false, false, true, false},
                                           ProductCase{false, true, false, true}),
                         [](const auto& info) {
                           const ProductCase& c = info.param;
                           return std::string(c.ta ? "T" : "N") + (c.tb ? "T" : "N") +
                                  (c.bias ? "_bias" : "") + (c.mask ? "_mask" : "");
                         });

}  // namespace
}  // namespace hc::agents

namespace hc::trainer {
namespace {

class Bf16MetaGradient : public ::testing::TestWithParam<std::string> {};

// With learner.precision bf16, the inner loop -- hence every adapted policy, and so evaluation
// -- is exactly float32's, and the meta-gradient of every policy stays within the error that
// rounding the backward pass's product operands explains. A bfloat16 product is off by at most
// 2u + u^2 relative to sum |a||b| (Bf16Product), u = 2^-8. The backward pass runs a chain of S
// dependent product stages -- two per layer (the layer's product and its closed-form gradient)
// for each inner step and for the query pass, S = 2 L (K + 1) -- and each stage's error reaches
// the meta-gradient through float32-exact linear maps, like the gradient itself. Errors made
// independently at each stage add in quadrature: relative error <= 2u sqrt(S).
TEST_P(Bf16MetaGradient, StaysWithinTheBackwardPassRoundingBound) {
  YAML::Node root;
  root["family"]["name"] = "hyperteacher";
  root["policy"]["name"] = GetParam();
  root["policy"]["hidden"] = 128;  // every product of the backward pass is large enough for bf16
  root["policy"]["templates"] = 8;
  root["learner"]["meta_batch"] = 8;
  root["learner"]["inner_lr"] = GetParam().rfind("hnet", 0) == 0 ? 0.3 : 0.03;
  const RunConfig config = parse_run_config(root, "<test>");
  const tasks::TaskFamily& family = *config.family;
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  training_tasks(family, 5, 0, 8, ids, seeds);
  const std::vector<Batch> shards = make_batches(family, ids, seeds, 2);
  struct Result {
    torch::Tensor gradient, adapted;
  };
  const auto run = [&](agents::Precision precision) {
    agents::Policy p =
        agents::make_policy(config.policy, {family.input_dim(), family.output_dim(), 0}, 3);
    LearnerConfig lc = config.learner;
    lc.precision = precision;
    Learner learner(p, lc, 1, true);
    Result r;
    std::vector<torch::Tensor> flat;
    for (const auto& f : learner.adapt(shards[0]).fast) flat.push_back(f.reshape({-1}));
    r.adapted = torch::cat(flat);
    flat.clear();
    StepStats s;
    for (const auto& g : learner.meta_gradient(shards, s)) flat.push_back(g.reshape({-1}));
    r.gradient = torch::cat(flat).to(torch::kFloat64);
    return r;
  };
  const Result fp32 = run(agents::Precision::kFp32), bf = run(agents::Precision::kBf16);
  EXPECT_TRUE(torch::equal(bf.adapted, fp32.adapted)) << "the inner loop runs in float32";
  if (!agents::bf16_supported()) {
    EXPECT_TRUE(torch::equal(bf.gradient, fp32.gradient)) << "the fallback is float32";
    return;
  }
  const double u = std::ldexp(1.0, -8);
  const double stages = 2.0 * (config.policy.num_hidden + 1) * (config.learner.inner_steps + 1);
  const double rel = ((bf.gradient - fp32.gradient).norm() / fp32.gradient.norm()).item<double>();
  EXPECT_LE(rel, 2 * u * std::sqrt(stages));
  EXPECT_GT(rel, u / 100) << "bfloat16 products were used";
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, Bf16MetaGradient,
                         ::testing::ValuesIn(testing::policy_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace hc::trainer
