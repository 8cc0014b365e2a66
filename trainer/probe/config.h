// The probe's settings (`hypercomp probe --config FILE`, a `probe` section; probe.key=value).
// The defaults are the reference's procedure (Lepori, Serre & Pavlick, 2023, and its code,
// github.com/mlepori1/Compositional_Subnetworks); docs/probe.md says where and why ours differs,
// and the options that differ from it are kept as options.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/config.h"

namespace hc::probe {

// Where the mask sits (mask.h): the per-task network that predicts, or a hypernetwork's module
// bank before adaptation.
enum class MaskTarget { kNetwork, kBank };
// Which targets a probe covers: every one that applies to the policy, or one.
enum class ProbeTargets { kAll, kNetwork, kBank };
// How accuracies become scores (verdict.h).
enum class ScoreKind { kNormalised, kClamped };
// What a subroutine's performance is measured in (data.h): accuracy, or the share of the best
// constant prediction's loss that the model removes.
enum class Metric { kAccuracy, kLoss };

}  // namespace hc::probe

template <>
struct hc::EnumNames<hc::probe::MaskTarget> {
  using T = hc::probe::MaskTarget;
  static constexpr std::pair<T, const char*> values[] = {{T::kNetwork, "network"},
                                                         {T::kBank, "bank"}};
};
template <>
struct hc::EnumNames<hc::probe::ProbeTargets> {
  using T = hc::probe::ProbeTargets;
  static constexpr std::pair<T, const char*> values[] = {
      {T::kAll, "all"}, {T::kNetwork, "network"}, {T::kBank, "bank"}};
};
template <>
struct hc::EnumNames<hc::probe::ScoreKind> {
  using T = hc::probe::ScoreKind;
  static constexpr std::pair<T, const char*> values[] = {{T::kNormalised, "normalised"},
                                                         {T::kClamped, "clamped"}};
};

template <>
struct hc::EnumNames<hc::probe::Metric> {
  using T = hc::probe::Metric;
  static constexpr std::pair<T, const char*> values[] = {{T::kAccuracy, "accuracy"},
                                                         {T::kLoss, "loss"}};
};

namespace hc::probe {

// A list of numbers, non-empty, each in [lo, hi].
Check<std::vector<double>> each_in_range(double lo, double hi);

// The hyper-parameter search: every combination of learning rate, initial logit and masked
// layer range trains one mask; among those whose subnetwork keeps min_accuracy of the full
// model's accuracy (and keeps some weights but not all), the one whose ablation separates most
// is chosen, ties going to the sparsest mask; all on a selection set apart from the test set.
struct SearchConfig {
  std::vector<double> lr = {1e-2, 1e-4};
  std::vector<double> init = {0.1, 0.05, 0.0, -0.05};
  std::vector<std::string> layers = {"last 1", "last 2", "all"};
  double min_accuracy = 0.9;

  template <class V>
  void fields(V& v) {
    v("lr", lr, "learning rates of the mask logits (Adam) to try", each_in_range(1e-8, 10.0));
    v("init", init, "initial values of the mask logits to try (> 0: every weight starts kept)",
      each_in_range(-10.0, 10.0));
    v("layers", layers,
      "which weights to mask, each entry 'all', 'last N' (the last N stages: layers of the "
      "network, parts in/hid/out of a bank) or a comma-separated list of unit names (network: "
      "layer0 = input layer, layer1, ...; bank: parameter names such as hid_w)");
    v("min_accuracy", min_accuracy,
      "a configuration counts if its subnetwork keeps this fraction of the full model's "
      "accuracy on the subroutine (selection set)",
      in_range(0.0, 1.0));
  }
};

struct ProbeConfig {
  // Mask training (train.h).
  int epochs = 90;
  double final_temperature = 200.0;
  double lambda = 1e-8;
  double lambda_weights = 2.79e7;
  bool lambda_loss = true;
  int train_tasks = 2512;
  bool fresh_tasks = false;
  int batch = 16;
  // Evaluation.
  int select_tasks = 64;
  int test_tasks = 256;
  int seeds = 3;
  int random_ablations = 5;
  bool random_model = true;
  // Scores and verdict (verdict.h).
  Metric metric = Metric::kAccuracy;
  ScoreKind score = ScoreKind::kNormalised;
  int min_models = 3;
  double alpha = 0.05;
  double min_effect = 0.05;
  double confidence = 0.95;
  ProbeTargets targets = ProbeTargets::kAll;
  uint64_t seed = 0;
  SearchConfig search;

  template <class V>
  void fields(V& v) {
    v("epochs", epochs, "passes of mask training over the training tasks", in_range(1, 100000));
    v("final_temperature", final_temperature,
      "temperature reached after the last epoch: epoch e of E trains at final^(e/E)",
      in_range(1.0, 1e6));
    v("lambda", lambda, "weight of the sparsity penalty sum(sigmoid(T s))", in_range(0.0, 1e3));
    v("lambda_weights", lambda_weights,
      "the penalty is scaled by lambda_weights / (weights this mask covers), so that it weighs "
      "against the task loss as the reference's 1e-8 over its 2.79e7 weights does; 0: lambda "
      "as given",
      in_range(0.0, 1e12));
    v("lambda_loss", lambda_loss,
      "for action-vector targets, the penalty is also multiplied by the constant prediction's "
      "squared error over ln 2 (the reference's cross-entropy at chance), so that it weighs "
      "against a squared error as the reference's against its cross-entropy; class targets, "
      "trained by cross-entropy as the reference's, are left as they are");
    v("train_tasks", train_tasks,
      "task instances of one epoch; an epoch is one pass over them in steps of `batch`",
      in_range(1, 1'000'000));
    v("fresh_tasks", fresh_tasks,
      "draw new task instances for every epoch (false: one fixed set, as the reference's fixed "
      "dataset)");
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
      "control: the same mask training on an untrained policy of the same architecture (the "
      "verdict needs it)");
    v("metric", metric,
      "accuracy: the fraction of the subroutine's rows predicted right (chance: the best "
      "constant prediction's); loss: max(0, 1 - L / L_chance), the share of the best constant "
      "prediction's loss the model removes (chance 0, also for any worse model; cross-entropy "
      "for classes, squared error for action vectors), for families whose constant prediction "
      "already passes the accuracy tolerance on most rows");
    v("score", score,
      "normalised: (acc - chance) / (full - chance) per subroutine, unclamped; clamped: "
      "max(acc - chance, 0), the reference's max(acc, chance) form");
    v("min_models", min_models, "trained models the verdict needs (the reference: 3)",
      in_range(1, 1000));
    v("alpha", alpha, "significance level of the verdict's tests", in_open_range(0.0, 1.0));
    v("min_effect", min_effect,
      "margin by which the ablation must beat random ablations in the stricter extra column",
      in_range(0.0, 1.0));
    v("confidence", confidence, "level of the intervals shown beside the scores",
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

}  // namespace hc::probe
