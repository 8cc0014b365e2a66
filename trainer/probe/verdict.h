// Scores and the verdict: does a policy show evidence of structural compositionality for a
// subroutine? The rule is the reference's (its R analysis, Main_Analysis.Rmd), over the masks of
// at least `min_models` trained models:
//   1. the subnetwork performs the subroutine more than the others: its separation score is
//      greater than 0 (Wald test, cluster-robust over trained models, p < alpha);
//   2. the ablated model performs it less than the others: its score is less than 0 (same test);
//   3. this is learned, not the architecture's: the gap between subnetwork and ablation scores
//      is larger than for untrained models of the same architecture put through the same
//      probe (the Ablation x Random interaction of Performance ~ Ablation * Random, p < alpha).
// Beating random ablations of as many weights by min_effect is reported beside it, as a
// stricter extra column, not as part of the verdict.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "trainer/probe/config.h"
#include "trainer/probe/stats.h"

namespace hc::probe {

// Below this lift over chance the full model performs nothing a score could be a share of.
constexpr double kMinLift = 0.02;

// A subroutine's score for one accuracy: normalised, (acc - chance) / (full - chance), the
// share of the intact trained model's lift over chance that is left (1: all of it, 0: chance,
// below 0: worse than chance; NaN when the full model is within 0.02 of chance); clamped,
// max(acc - chance, 0), the reference's max(acc, chance) up to a constant.
double subroutine_score(double acc, double chance, double full, ScoreKind kind);
// Whether `subroutine_score` is defined for a subroutine whose full model scores `full`.
bool scorable(double chance, double full, ScoreKind kind);
// Score on subroutine `target` minus the mean score over the others.
double separation(const std::vector<double>& acc, const std::vector<double>& chance,
                  const std::vector<double>& full, size_t target, ScoreKind kind);

// One mask's evidence, as separations (the untrained model's against the trained model's full
// accuracies, so that the two are on one scale).
struct ScoredMask {
  int model = 0;  // trained model index: the cluster
  double subnetwork = 0.0, ablation = 0.0;
  double random_ablation = 0.0;  // mean over the random ablations (NaN: none)
  bool untrained = false;        // the untrained-model control was run
  double untrained_subnetwork = 0.0, untrained_ablation = 0.0;
  double kept = 0.0;  // fraction of the masked weights the mask keeps
};

struct Verdict {
  int models = 0, masks = 0;
  Interval subnetwork, ablation, random_ablation, untrained_subnetwork, untrained_ablation, kept;
  WaldTest subnetwork_test, ablation_test;  // estimates: mean scores
  WaldTest untrained_gap;  // estimate: trained (sub - abl) minus untrained (sub - abl)
  bool enough_models = false, scored = false;
  bool subnetwork_ok = false, ablation_ok = false, beyond_untrained = false;
  bool holds = false;
  bool beats_random = false;  // extra column: ablation <= random ablations - min_effect
};
Verdict judge(const std::vector<ScoredMask>& masks, const ProbeConfig& config);

// "**holds**", or "no: " and the reasons.
std::string verdict_text(const Verdict& v);

}  // namespace hc::probe
