#include "trainer/probe/verdict.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

namespace hc::probe {

bool scorable(double chance, double full, ScoreKind kind) {
  return kind == ScoreKind::kClamped || full - chance >= kMinLift;
}

double subroutine_score(double acc, double chance, double full, ScoreKind kind) {
  if (kind == ScoreKind::kClamped) return std::max(acc - chance, 0.0);
  if (!scorable(chance, full, kind)) return std::nan("");
  return (acc - chance) / (full - chance);
}

double separation(const std::vector<double>& acc, const std::vector<double>& chance,
                  const std::vector<double>& full, size_t target, ScoreKind kind) {
  double others = 0.0;
  for (size_t j = 0; j < acc.size(); ++j)
    if (j != target) others += subroutine_score(acc[j], chance[j], full[j], kind);
  return subroutine_score(acc[target], chance[target], full[target], kind) -
         others / static_cast<double>(acc.size() - 1);
}

Verdict judge(const std::vector<ScoredMask>& masks, const ProbeConfig& config) {
  Verdict v;
  std::vector<double> sub, abl, rand_abl, u_sub, u_abl, kept;
  std::set<int> models;
  bool finite = !masks.empty(), untrained = !masks.empty();
  for (const ScoredMask& m : masks) {
    models.insert(m.model);
    sub.push_back(m.subnetwork);
    abl.push_back(m.ablation);
    kept.push_back(m.kept);
    if (std::isfinite(m.random_ablation)) rand_abl.push_back(m.random_ablation);
    finite = finite && std::isfinite(m.subnetwork) && std::isfinite(m.ablation);
    untrained = untrained && m.untrained;
    if (m.untrained) {
      u_sub.push_back(m.untrained_subnetwork);
      u_abl.push_back(m.untrained_ablation);
      finite =
          finite && std::isfinite(m.untrained_subnetwork) && std::isfinite(m.untrained_ablation);
    }
  }
  v.models = static_cast<int>(models.size());
  v.masks = static_cast<int>(masks.size());
  const double c = config.confidence;
  v.subnetwork = mean_interval(sub, c);
  v.ablation = mean_interval(abl, c);
  v.random_ablation = mean_interval(rand_abl, c);
  v.untrained_subnetwork = mean_interval(u_sub, c);
  v.untrained_ablation = mean_interval(u_abl, c);
  v.kept = mean_interval(kept, c);
  v.enough_models = v.models >= config.min_models;
  v.beats_random =
      v.random_ablation.n > 0 && v.ablation.mean <= v.random_ablation.mean - config.min_effect;
  v.scored = finite;
  if (!finite) return v;

  // Performance ~ Ablation, clustered by trained model: subnetwork = b0, ablation = b0 + b1.
  std::vector<std::vector<double>> x;
  std::vector<double> y;
  std::vector<int> cluster;
  const auto add = [&](double score, double ablation, double random, int model) {
    x.push_back({1.0, ablation, random, ablation * random});
    y.push_back(score);
    cluster.push_back(model);
  };
  for (const ScoredMask& m : masks) {
    add(m.subnetwork, 0, 0, m.model);
    add(m.ablation, 1, 0, m.model);
  }
  std::vector<std::vector<double>> x2;
  for (const auto& row : x) x2.push_back({row[0], row[1]});
  const ClusteredFit trained(x2, y, cluster);
  v.subnetwork_test = trained.test({1, 0});
  v.ablation_test = trained.test({1, 1});
  v.subnetwork_ok = v.subnetwork_test.estimate > 0 && v.subnetwork_test.p < config.alpha;
  v.ablation_ok = v.ablation_test.estimate < 0 && v.ablation_test.p < config.alpha;

  // Performance ~ Ablation * Random, the untrained models clustered apart (each with the
  // trained model it was probed beside, as the reference relabels them): the trained gap
  // between subnetwork and ablation, b0 - (b0 + b1) = -b1, minus the untrained one, -b1 - b3, is
  // b3, positive when training made the subroutine more separable.
  if (untrained) {
    const int offset = *models.rbegin() + 1;
    for (const ScoredMask& m : masks) {
      add(m.untrained_subnetwork, 0, 1, offset + m.model);
      add(m.untrained_ablation, 1, 1, offset + m.model);
    }
    const ClusteredFit both(x, y, cluster);
    v.untrained_gap = both.test({0, 0, 0, 1});
    v.beyond_untrained = v.untrained_gap.estimate > 0 && v.untrained_gap.p < config.alpha;
  }
  v.holds = v.enough_models && v.subnetwork_ok && v.ablation_ok && v.beyond_untrained;
  return v;
}

std::string verdict_text(const Verdict& v) {
  if (v.holds) return "**holds**";
  std::vector<std::string> why;
  if (!v.scored) {
    why.push_back("not scored (a full model at chance, or no masks)");
  } else {
    if (!v.subnetwork_ok) why.push_back(fmt::format("subnetwork (p {:.2g})", v.subnetwork_test.p));
    if (!v.ablation_ok) why.push_back(fmt::format("ablation (p {:.2g})", v.ablation_test.p));
    if (v.untrained_subnetwork.n == 0)
      why.push_back("no untrained control");
    else if (!v.beyond_untrained)
      why.push_back(fmt::format("not beyond untrained (p {:.2g})", v.untrained_gap.p));
  }
  if (!v.enough_models) why.push_back(fmt::format("{} trained model(s)", v.models));
  std::string s = "no: ";
  for (size_t i = 0; i < why.size(); ++i) s += (i ? "; " : "") + why[i];
  return s;
}

}  // namespace hc::probe
