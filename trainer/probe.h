// The structural compositionality probe (Lepori, Serre & Pavlick, 2023, "Break It Down"): does
// a trained policy contain a subnetwork that performs one subroutine of its family's behaviour
// (tasks/subroutine.h) and not the others, and whose removal breaks that subroutine while
// sparing the others?
//
// Continuous sparsification: every masked weight w gets a logit s; during mask training the
// weight used is w * sigmoid(T s), with the temperature T raised geometrically from 1 to
// final_temperature over the epochs, and the loss is the subroutine's query loss plus
// lambda * sum(sigmoid(T s)). The policy's own parameters never change. Evaluation uses the
// hard mask s > 0: the subnetwork keeps the weights whose logit is positive, the ablated model
// keeps the others.
//
// What is masked (MaskTarget), and how the mask meets adaptation:
//   network  the dense per-task network that makes the predictions (PolicyImpl::network):
//            adaptation runs on the intact policy, then every task's adapted weights are
//            multiplied by one mask shared by all tasks. For anil these are the shared body and
//            the adapted head, for learned_init the adapted weights, for hypernetworks the
//            generated weights.
//   bank     a hypernetwork's module bank (PolicyImpl::bank_parameters): the bank is masked
//            before adaptation, so the task embedding adapts to what is left of the modules,
//            and the mask is trained through the inner loop like the meta-parameters are.
//
// Scores (the paper's): with acc above chance a+ = max(acc - chance, 0) per subroutine,
//   separation = a+(target) - mean over the other subroutines of a+(other);
// the subnetwork's separation must be > 0 and the ablated model's < 0. Controls: ablations of
// as many weights chosen at random, and the same mask training on an untrained policy of the
// same architecture.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/config.h"
#include "tasks/task_family.h"
#include "trainer/meta_learner.h"
#include "trainer/run.h"

namespace hc::trainer {

enum class MaskTarget { kNetwork, kBank };
// Which targets a probe covers: every one that applies to the policy, or one.
enum class ProbeTargets { kAll, kNetwork, kBank };

}  // namespace hc::trainer

template <>
struct hc::EnumNames<hc::trainer::MaskTarget> {
  using T = hc::trainer::MaskTarget;
  static constexpr std::pair<T, const char*> values[] = {{T::kNetwork, "network"},
                                                         {T::kBank, "bank"}};
};
template <>
struct hc::EnumNames<hc::trainer::ProbeTargets> {
  using T = hc::trainer::ProbeTargets;
  static constexpr std::pair<T, const char*> values[] = {
      {T::kAll, "all"}, {T::kNetwork, "network"}, {T::kBank, "bank"}};
};

namespace hc::trainer {

// A list of numbers, non-empty, each in [lo, hi].
Check<std::vector<double>> each_in_range(double lo, double hi);

// The hyper-parameter search: every combination of learning rate, initial logit and masked
// layers is trained once; the configurations whose subnetwork keeps at least min_accuracy of
// the full model's accuracy on the subroutine (and keeps some weights but not all) are kept,
// and the one whose ablation separates most (the lowest ablation score) is chosen, all on a
// selection set apart from the test set.
struct ProbeSearchConfig {
  // The paper's two rates and the one between: our runs take far fewer steps than the paper's
  // (90 epochs of a few steps), where 1e-4 barely moves a logit and 1e-2 overshoots once the
  // temperature is high.
  std::vector<double> lr = {1e-2, 1e-3, 1e-4};
  std::vector<double> init = {0.1, 0.05, 0.0, -0.05};
  std::vector<std::string> layers = {"all"};
  double min_accuracy = 0.9;

  template <class V>
  void fields(V& v) {
    v("lr", lr, "learning rates of the mask logits (Adam) to try", each_in_range(1e-8, 10.0));
    v("init", init, "initial values of the mask logits to try (> 0: every weight starts kept)",
      each_in_range(-10.0, 10.0));
    v("layers", layers,
      "which weights to mask, each entry 'all' or a comma-separated list of unit names "
      "(network: layer0 = input layer, layer1, ...; bank: parameter names such as hid_w)");
    v("min_accuracy", min_accuracy,
      "a configuration counts if its subnetwork keeps this fraction of the full model's "
      "accuracy on the subroutine (selection set)",
      in_range(0.0, 1.0));
  }
};

struct ProbeConfig {
  int epochs = 90;
  double final_temperature = 200.0;
  double lambda = 1e-8;
  int train_tasks = 64;
  bool fresh_tasks = true;
  int batch = 16;
  int select_tasks = 64;
  int test_tasks = 256;
  int seeds = 3;
  int random_ablations = 5;
  bool random_model = true;
  double min_effect = 0.05;
  double confidence = 0.95;
  ProbeTargets targets = ProbeTargets::kAll;
  uint64_t seed = 0;
  ProbeSearchConfig search;

  template <class V>
  void fields(V& v) {
    v("epochs", epochs, "passes of mask training over the training tasks", in_range(1, 100000));
    v("final_temperature", final_temperature,
      "temperature of the last epoch; it rises geometrically from 1", in_range(1.0, 1e6));
    v("lambda", lambda, "weight of the sparsity penalty sum(sigmoid(T s))", in_range(0.0, 1e3));
    v("train_tasks", train_tasks, "task instances of mask training (one epoch)",
      in_range(1, 1'000'000));
    v("fresh_tasks", fresh_tasks,
      "draw new task instances for every epoch, as meta-training does (false: the same "
      "train_tasks instances every epoch, a fixed dataset as in the paper)");
    v("batch", batch, "task instances per mask step (cut into train.shards shards)",
      in_range(1, 65536));
    v("select_tasks", select_tasks,
      "task instances per subroutine that score the configurations of the search",
      in_range(1, 1'000'000));
    v("test_tasks", test_tasks, "task instances per subroutine that score the chosen masks",
      in_range(1, 1'000'000));
    v("seeds", seeds, "masks trained with the chosen configuration (mask seeds)",
      in_range(1, 1000));
    v("random_ablations", random_ablations,
      "control: draws of a random ablation of as many weights as the mask removes",
      in_range(0, 1000));
    v("random_model", random_model,
      "control: the same mask training on an untrained policy of the same architecture");
    v("min_effect", min_effect,
      "smallest separation that counts as evidence (accuracy above chance); all masks are "
      "scored on the same test rows, whose sampling error the interval does not contain",
      in_range(0.0, 1.0));
    v("confidence", confidence, "level of the intervals over masks and trained models",
      in_open_range(0.0, 1.0));
    v("targets", targets, "what to mask: all (every target the policy has), network or bank");
    v("seed", seed, "seed of the probe's data and masks (with the run's seed)");
    v("search", search, "the hyper-parameter search");
  }
};

// Reads a probe config file (its `probe` section; none: the defaults) and `probe.key=value`
// overrides.
ProbeConfig load_probe_config(const std::string& path,
                              const std::vector<std::string>& overrides = {});
YAML::Node probe_config_yaml(const ProbeConfig& c);

// Temperature of epoch `epoch` (0-based) of `epochs`: 1 at the first, `final` at the last,
// geometric in between.
double mask_temperature(int epoch, int epochs, double final);

// One masked weight tensor: one logit per weight.
struct MaskUnit {
  std::string name;
  std::vector<int64_t> shape;
  int64_t numel() const;
};

// A value per weight of each unit, shaped like it; an undefined tensor stands for all ones.
using MaskValues = std::vector<torch::Tensor>;

// 1 where the logit is positive (undefined logits: the unit is not masked, all ones).
MaskValues hard_mask(const std::vector<torch::Tensor>& logits);
// 1 - mask on the masked units; units not masked stay all ones.
MaskValues ablation_of(const MaskValues& mask);
// Kept weights of the masked units (defined tensors) and their total.
int64_t kept_weights(const MaskValues& mask);
int64_t masked_weights(const MaskValues& mask);

// A policy whose weights of one target are multiplied by a mask. Its parameters are restored
// when it is destroyed.
class MaskedPolicy {
 public:
  // Throws hc::Error if the target does not apply to the learner's policy.
  static std::unique_ptr<MaskedPolicy> make(MaskTarget target, Learner& learner);
  virtual ~MaskedPolicy() = default;

  MaskTarget target() const { return target_; }
  const std::vector<MaskUnit>& units() const { return units_; }
  // Work that does not depend on the mask, once per set of shards (network: the adapted
  // networks). Shards must stay alive while the masked policy uses them.
  virtual void prepare(const std::vector<Batch>& shards) {}
  // Drops what prepare() kept for these shards.
  virtual void release(const std::vector<Batch>& shards) {}
  // The mean query loss over the shards' tasks with the weights multiplied by `mask`, and its
  // gradient with respect to every defined mask tensor (into `grad`, same layout).
  virtual double loss_and_grad(const std::vector<Batch>& shards, const MaskValues& mask,
                               MaskValues& grad) = 0;
  // Query outputs [T, N, C] of every shard with the weights multiplied by `mask`.
  virtual std::vector<torch::Tensor> outputs(const std::vector<Batch>& shards,
                                             const MaskValues& mask) = 0;

 protected:
  MaskedPolicy(MaskTarget target, Learner& learner) : target_(target), learner_(learner) {}
  MaskTarget target_;
  Learner& learner_;
  std::vector<MaskUnit> units_;
};

// The targets a probe covers for this learner's policy.
std::vector<MaskTarget> mask_targets(Learner& learner, ProbeTargets which);

// Which units a `layers` entry of the search masks (all, or named units); throws ConfigError
// naming the entry and the known units.
std::vector<bool> parse_layers(const std::string& spec, const std::vector<MaskUnit>& units);

// One subroutine's data: batches of task instances (each cut into shards), with only the
// subroutine's rows counting in the query sets.
struct SubroutineSet {
  std::vector<std::vector<Batch>> batches;
  int64_t tasks = 0, rows = 0;  // task instances, counted query rows
  double chance = 0.0;          // accuracy of the best constant prediction on those rows
};
// `count` instances of the subroutine's tasks among `candidates`, drawn with `seed`.
SubroutineSet make_subroutine_set(const tasks::TaskFamily& family, const tasks::Subroutine& s,
                                  const std::vector<int64_t>& candidates, int count, int batch,
                                  int shards, uint64_t seed);
// Fraction of the set's counted rows predicted right with the weights multiplied by `mask`.
double accuracy(MaskedPolicy& model, const SubroutineSet& set, const MaskValues& mask,
                double tolerance);

// Above-chance accuracy on subroutine `target` minus the mean over the other subroutines.
double separation(const std::vector<double>& acc, const std::vector<double>& chance, size_t target);

struct MaskSetting {
  double lr = 1e-2, init = 0.0;
  std::string layers = "all";
};

struct MaskTraining {
  std::vector<torch::Tensor> logits;  // per unit; undefined for units not masked
  double final_loss = 0.0;            // task loss of the last epoch (mean over its steps)
  double seconds = 0.0;
};
// The training batches of an epoch, prepared for the masked policy.
using EpochBatches = std::function<const std::vector<std::vector<Batch>>&(int epoch)>;
// Trains mask logits: every epoch, one step per batch, in an order shuffled by `seed`.
MaskTraining train_mask(MaskedPolicy& model, const EpochBatches& batches, const ProbeConfig& config,
                        const MaskSetting& setting, uint64_t seed);
// The same batches every epoch.
MaskTraining train_mask(MaskedPolicy& model, const std::vector<std::vector<Batch>>& batches,
                        const ProbeConfig& config, const MaskSetting& setting, uint64_t seed);

// ---------------------------------------------------------------------------- results

struct SearchEntry {
  MaskSetting setting;
  double target_accuracy = 0.0;  // subnetwork on the subroutine, selection set
  double full_accuracy = 0.0;    // the full model on the same set
  double ablation_score = 0.0;   // separation of the ablated model, selection set
  double kept = 0.0;             // fraction of masked weights kept
  double final_loss = 0.0;       // training loss of the last epoch (soft mask)
  bool passes = false;
  double seconds = 0.0;
};

// One mask (seed) and its controls, scored on the test sets of every subroutine.
struct MaskResult {
  uint64_t seed = 0;
  double kept = 0.0;                           // fraction of the masked weights kept
  std::vector<double> subnetwork, ablated;     // accuracy per subroutine
  std::vector<double> random_ablation_scores;  // separation of each random ablation
  std::vector<double> random_ablated;          // accuracy per subroutine, mean over the draws
  bool random_model = false;
  std::vector<double> random_subnetwork, random_ablated_model;  // the untrained policy's
  double random_kept = 0.0;
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
  std::vector<double> chance, full;  // per subroutine, test sets
  std::vector<int64_t> rows, tasks;  // per subroutine, test sets
  std::vector<SubroutineProbe> probes;
  double seconds = 0.0;
};

// What a probe needs of a trained policy.
struct ProbeModel {
  std::string label, policy;
  Learner* learner = nullptr;
  // A learner of an untrained policy of the same architecture (the random-model control);
  // empty: no control.
  std::function<std::unique_ptr<Learner>(uint64_t seed)> untrained;
  uint64_t seed = 0;  // the run's seed: fixes the probe's data with ProbeConfig::seed
  int shards = 2;
};

// The probe's view of a run loaded from its directory; its untrained policies are built by the
// run's policy config with fresh seeds.
ProbeModel probe_model(LoadedRun& run);

using ProbeLog = std::function<void(const std::string&)>;

// The subroutines a probe uses: every declared one (empty `names`) or the named ones; errors
// for a family without subroutines and for unknown names (listing the known ones).
std::vector<tasks::Subroutine> select_subroutines(const tasks::TaskFamily& family,
                                                  const std::vector<std::string>& names);

// Probes the subroutines `names` (empty: all) of one model for one target.
ModelProbe probe(const tasks::TaskFamily& family, const ProbeModel& model, MaskTarget target,
                 const ProbeConfig& config, const std::vector<std::string>& names,
                 const ProbeLog& log = {});

// ---------------------------------------------------------------------------- verdicts

struct Interval {
  double mean = 0.0, lo = 0.0, hi = 0.0;
  int n = 0;
};
// Mean and Student-t interval at `confidence` (n = 1: the value itself).
Interval mean_interval(const std::vector<double>& xs, double confidence);

// The evidence for one subroutine, pooled over masks (and models).
struct Verdict {
  Interval subnetwork, ablation, random_ablation, random_subnetwork, random_ablation_model;
  Interval kept;
  bool subnetwork_ok = false;  // separation > 0: interval above 0 and mean >= min_effect
  bool ablation_ok = false;    // separation < 0: interval below 0 and mean <= -min_effect
  bool beats_random = false;   // ablation separates by min_effect more than random ablations
  bool holds = false;          // all three
};
struct ScoredMask {
  double subnetwork, ablation, random_ablation;  // random: mean over the draws
  bool random_model;
  double random_subnetwork, random_ablation_model;
  double kept;
};
std::vector<ScoredMask> score_masks(const ModelProbe& m, const SubroutineProbe& p);
Verdict judge(const std::vector<ScoredMask>& masks, double min_effect, double confidence);

}  // namespace hc::trainer
