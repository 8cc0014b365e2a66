#include "trainer/identification.h"

#include <gtest/gtest.h>

#include <cmath>

namespace hc::trainer {
namespace {

double metric(const Metrics& m, const std::string& key) {
  for (const auto& [k, v] : m)
    if (k == key) return v;
  ADD_FAILURE() << "no metric " << key;
  return std::nan("");
}

// Features that are a fixed random linear image of the latents plus noise, as adapted
// parameters that encode the task would be.
torch::Tensor encode(const torch::Tensor& latents, const torch::Tensor& map, double noise) {
  return torch::matmul(latents, map) +
         noise * torch::randn({latents.size(0), map.size(1)}, torch::kFloat64);
}

TEST(Identification, ConjugateGradientReachesTheExactRidgeSolution) {
  torch::manual_seed(1);
  const torch::Tensor x = torch::randn({120, 6}, torch::kFloat64) + 0.5;
  const torch::Tensor y = torch::matmul(x, torch::randn({6, 3}, torch::kFloat64)) + 2.0 +
                          0.1 * torch::randn({120, 3}, torch::kFloat64);
  const torch::Tensor xs = torch::randn({50, 6}, torch::kFloat64) + 0.5;
  const torch::Tensor ys = torch::matmul(xs, torch::randn({6, 3}, torch::kFloat64));
  // In exact arithmetic CG solves a 7-unknown system (6 features + intercept) in 7 steps; the
  // closed form of the same penalised problem, intercept column included:
  const torch::Tensor xi = torch::cat({x, torch::ones({120, 1}, torch::kFloat64)}, 1);
  const torch::Tensor w = torch::linalg_solve(
      torch::matmul(xi.t(), xi) + torch::eye(7, torch::kFloat64), torch::matmul(xi.t(), y));
  const torch::Tensor pred =
      torch::matmul(torch::cat({xs, torch::ones({50, 1}, torch::kFloat64)}, 1), w);
  const auto cg = ridge_cg_r2(x, y, xs, ys, 1.0, 30);
  for (int j = 0; j < 3; ++j) {
    const double want =
        1.0 - (ys.select(1, j) - pred.select(1, j)).square().sum().item<double>() /
                  (ys.select(1, j) - ys.select(1, j).mean()).square().sum().item<double>();
    // A well-conditioned double-precision solve: agreement to far below any reported digit.
    EXPECT_NEAR(cg[j], want, 1e-8) << "column " << j;
  }
}

TEST(Identification, DecodableLatentsScoreNearOneAndShuffledOnesNearZero) {
  torch::manual_seed(2);
  const torch::Tensor map = torch::randn({4, 40}, torch::kFloat64);
  const auto latents = [](int64_t n) { return torch::rand({n, 4}, torch::kFloat64); };
  const torch::Tensor fit = latents(200), id = latents(100), ood = latents(100);
  IdentificationProbe probe(1000);
  using Role = IdentificationProbe::Role;
  probe.add(Role::kFit, {encode(fit, map, 0.01)}, fit, 0);
  probe.add(Role::kId, {encode(id, map, 0.01)}, id, 0);
  probe.add(Role::kOod, {encode(ood, map, 0.01)}, ood, 0);
  Metrics m;
  probe.emit(m);
  EXPECT_GT(metric(m, "id/r2"), 0.99);
  EXPECT_GT(metric(m, "id/r2_cg"), 0.9);
  EXPECT_GT(metric(m, "id/r2_all"), 0.99);
  EXPECT_EQ(metric(m, "id/r2_undefined"), 0);
  // No task information survives the shuffle: 200 fit rows, 41 parameters per column, so the
  // scored R² sits at or below 0 up to sampling noise.
  EXPECT_LT(metric(m, "id/r2_shuffled"), 0.1);
}

TEST(Identification, AModuleNeverTrainedIsUndefinedOnOodAndAFailureOnIdAndOod) {
  // Non-compositional support: latent column 0 is never active in training and always active
  // out of distribution.
  torch::manual_seed(3);
  // Orthonormal rows, so the untrained module's shift of the features is invisible to the other
  // columns' decoders and the failure is confined to its own column.
  const torch::Tensor map =
      std::get<0>(torch::linalg_qr(torch::randn({40, 4}, torch::kFloat64))).t().contiguous();
  const auto latents = [](int64_t n, double first) {
    torch::Tensor l = torch::rand({n, 4}, torch::kFloat64);
    l.select(1, 0).fill_(first);
    return l;
  };
  const torch::Tensor fit = latents(200, 0.0), id = latents(100, 0.0), ood = latents(100, 1.0);
  IdentificationProbe probe(1000);
  using Role = IdentificationProbe::Role;
  probe.add(Role::kFit, {encode(fit, map, 0.01)}, fit, 0);
  probe.add(Role::kId, {encode(id, map, 0.01)}, id, 0);
  probe.add(Role::kOod, {encode(ood, map, 0.01)}, ood, 0);
  Metrics m;
  probe.emit(m);
  EXPECT_EQ(metric(m, "id/r2_undefined"), 1);
  EXPECT_GT(metric(m, "id/r2"), 0.99);  // the other columns: the failure is left out here
  // On ID and OOD together column 0 is half 0, half 1, and its decoder, fitted where it was always
  // 0, predicts 0: R² = 1 - 100 / 50 = -1, so the mean over the four columns is about 0.5.
  EXPECT_LT(metric(m, "id/r2_all"), 0.8);
}

TEST(Identification, TemplateAlignmentFindsATeacherBankSeenThroughALinearMapOnly) {
  torch::manual_seed(4);
  const int64_t mt = 6, ms = 12, in = 16, ht = 16;
  const torch::Tensor teacher = torch::randn({mt, in, ht}, torch::kFloat64);
  // The student's templates are mixtures of the teacher's modules (R), its hidden units a
  // permutation of the teacher's plus 8 units of its own; a task's embedding is the minimum-norm
  // one that makes the task's teacher weights.
  const torch::Tensor r = torch::randn({ms, mt}, torch::kFloat64);
  const torch::Tensor mixed = torch::einsum("Tt,tio->Tio", {r, teacher});
  const torch::Tensor student =
      torch::cat({mixed.index_select(2, torch::randperm(ht, torch::kInt64)),
                  torch::randn({ms, in, 8}, torch::kFloat64)},
                 2);
  const auto embed = [&](const torch::Tensor& z) {
    return agents::Fast{torch::matmul(z, torch::linalg_pinv(r)).unsqueeze(1)};
  };
  const torch::Tensor fit = torch::rand({200, mt}, torch::kFloat64);
  const torch::Tensor ood = torch::rand({100, mt}, torch::kFloat64) + 0.5;
  const torch::Tensor hot = torch::rand({50, mt}, torch::kFloat64);
  IdentificationProbe probe(1000, /*l2=*/1e-6, /*intercept=*/false);
  using Role = IdentificationProbe::Role;
  probe.add(Role::kFit, embed(fit), fit, 0);
  probe.add(Role::kOod, embed(ood), ood, 0);
  probe.add_scored("ood_hot3", embed(hot), hot, 0);
  Metrics m;
  probe.emit(m, student, teacher);
  EXPECT_GT(metric(m, "id/r2"), 0.9999);
  EXPECT_GT(metric(m, "id/r2_ood_hot3"), 0.9999);
  // Exact up to the ridge's 1e-6 penalty and double rounding.
  EXPECT_GT(metric(m, "id/alignment"), 0.9999);
  EXPECT_GT(metric(m, "id/alignment_min"), 0.999);

  // The other answer: a student bank unrelated to the teacher's, with embeddings that still
  // encode the code exactly (decodable is not identified).
  Metrics random;
  probe.emit(random, torch::randn({ms, in, ht + 8}, torch::kFloat64), teacher);
  EXPECT_GT(metric(random, "id/r2"), 0.9999);
  // The best of 24 random directions in 16 dimensions has a cosine of about 0.55 with a given
  // one; 96 teacher units average well below 0.8.
  EXPECT_LT(metric(random, "id/alignment"), 0.8);

  // One teacher hidden unit the student never found: unit 5 of every mixed module replaced by
  // noise. The shortfall is named as that unit's, spread evenly over the modules.
  torch::Tensor lacking = student.clone();
  const torch::Tensor perm_of_5 =
      (student.index({0, torch::indexing::Slice(), torch::indexing::Slice(0, ht)}) ==
       mixed.index({0, torch::indexing::Slice(), 5}).unsqueeze(1))
          .all(0)
          .nonzero();
  ASSERT_EQ(perm_of_5.numel(), 1);
  const int64_t at = perm_of_5.item<int64_t>();
  lacking.index_put_({torch::indexing::Slice(), torch::indexing::Slice(), at},
                     torch::randn({ms, in}, torch::kFloat64));
  Metrics one;
  probe.emit(one, lacking, teacher);
  EXPECT_EQ(metric(one, "id/alignment_worst_hidden"), 5.0);
  EXPECT_LT(metric(one, "id/alignment_worst_hidden_mean"), 0.8);
  EXPECT_EQ(metric(one, "id/alignment_hidden_5"), metric(one, "id/alignment_worst_hidden_mean"));
  EXPECT_GT(metric(one, "id/alignment_hidden_4"), 0.9999);
  EXPECT_LT(metric(one, "id/alignment_min"), 0.8);
  // Each module lacks 1 of its 16 units, the others found as exactly as above (1e-4).
  EXPECT_GT(metric(one, "id/alignment_worst_module_mean"), 0.9);
  EXPECT_NEAR(metric(one, "id/alignment"),
              (15.0 + metric(one, "id/alignment_worst_hidden_mean")) / 16.0, 1e-4);
}

}  // namespace
}  // namespace hc::trainer
