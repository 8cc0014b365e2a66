// The probe of one trained model for one mask target: for each subroutine, the search over mask
// settings (learning rate x initial logit x layer range, the reference's grid), the masks of the
// chosen setting with other seeds, and their controls -- random ablations of as many weights,
// and the same mask training on an untrained policy of the same architecture.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tasks/task_family.h"
#include "trainer/meta_learner.h"
#include "trainer/probe/config.h"
#include "trainer/probe/mask.h"
#include "trainer/probe/train.h"
#include "trainer/probe/verdict.h"
#include "trainer/run.h"

namespace hc::probe {

struct SearchEntry {
  MaskSetting setting;
  double target_accuracy = 0.0;  // subnetwork on the subroutine, selection set
  double full_accuracy = 0.0;    // the full model on the same set
  double ablation_score = 0.0;   // separation of the ablated model, selection set
  double kept = 0.0;             // fraction of the masked weights kept
  int64_t removed = 0;           // weights the mask removes (sparsest: most)
  bool passes = false;
  MaskTraining training;  // without its logits
};

// One mask (seed) and its controls, accuracies on the test sets of every subroutine.
struct MaskResult {
  uint64_t seed = 0;
  double kept = 0.0;                                // fraction of the masked weights kept
  std::vector<double> subnetwork, ablated;          // per subroutine
  std::vector<std::vector<double>> random_ablated;  // per draw, per subroutine
  bool untrained = false;
  std::vector<double> untrained_full, untrained_subnetwork, untrained_ablated;
  double untrained_kept = 0.0;
  double seconds = 0.0;  // mask training of this seed
};

struct SubroutineProbe {
  size_t index = 0;  // into ModelProbe::subroutines
  std::vector<SearchEntry> search;
  int chosen = -1;
  bool threshold_met = false;
  std::vector<MaskResult> masks;
  double seconds = 0.0;  // the whole probe of this subroutine, search and controls included
};

struct ModelProbe {
  std::string label, policy, family;
  MaskTarget target = MaskTarget::kNetwork;
  std::vector<MaskUnit> units;
  std::vector<std::string> subroutines, descriptions;
  std::vector<double> chance, full;  // per subroutine, test sets, in the probe's metric
  std::vector<double> chance_loss;   // per subroutine, test sets: the constant prediction's loss
  std::vector<int64_t> rows, tasks;  // per subroutine, test sets
  std::vector<SubroutineProbe> probes;
  double seconds = 0.0;
};

// What a probe needs of a trained policy.
struct ProbeModel {
  std::string label, policy;
  trainer::Learner* learner = nullptr;
  // A learner of an untrained policy of the same architecture (the untrained-model control);
  // empty: no control.
  std::function<std::unique_ptr<trainer::Learner>(uint64_t seed)> untrained;
  uint64_t seed = 0;  // the run's seed: fixes the probe's data with ProbeConfig::seed
  int shards = 2;
};

// The probe's view of a run loaded from its directory; its untrained policies are built by the
// run's policy config with fresh seeds.
ProbeModel probe_model(trainer::LoadedRun& run);

using ProbeLog = std::function<void(const std::string&)>;

// Probes the subroutines `names` (empty: all) of one model for one target. `only` (empty:
// all) probes just these of them: every subroutine's data come from streams of its own, so the
// probes of a model can be split across calls (`hypercomp probe --jobs`) and merged in order to
// the same results; the model's preamble lines are logged by the call whose `only` begins with
// the first subroutine.
ModelProbe probe(const tasks::TaskFamily& family, const ProbeModel& model, MaskTarget target,
                 const ProbeConfig& config, const std::vector<std::string>& names,
                 const ProbeLog& log = {}, const std::vector<std::string>& only = {});

// The masks of one subroutine probe as the verdict reads them, `model` naming the trained
// model (its cluster).
std::vector<ScoredMask> score_masks(const ModelProbe& m, const SubroutineProbe& p, int model,
                                    ScoreKind kind);

// The index of the chosen entry of a search: among those that pass, the lowest ablation score,
// ties going to the mask that removes the most weights; -1 if none passes.
int choose(const std::vector<SearchEntry>& search);

}  // namespace hc::probe
