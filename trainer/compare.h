// Comparisons: train several configurations (groups of runs, each over one or more seeds),
// reusing finished runs that pass resume's checks (trainer/run.h), and collect their results.
// `hypercomp compare` formats them as a Markdown report, CSV tables and learning curves.
//
// A plan file:
//   title: ...
//   seeds: [1, 2, 3]              # optional: every run is trained once per seed (train.seed)
//   groups:
//     - name: compositional_goals
//       seeds: [1, 2, 3, 4, 5]      # optional: this group's seeds instead of the plan's
//       seed_keys: [train.seed, family.seed]  # optional: the keys each seed sets (default
//                                             # train.seed; family.seed also redraws the family)
//       metric: acc                 # curves of test/<metric> (solid) and ood/<metric> (dashed)
//       headline: [ood/rel_loss, "mean(id/r2_ood_hot1, id/r2_ood_hot2)"]  # optional: the
//                                   # headline table's metric columns (default: chosen by metric)
//       notes: free text shown under the group's heading
//       runs:
//         - configs/quick/goals_hnet_linear.yaml
//         - {config: configs/quick/hyperteacher.yaml, label: connected,
//            overrides: [family.support=connected],
//            expect: identification,    # optional: the known answer, shown beside the result
//            series: hnet_linear}       # optional: runs of one series at several budgets are
//                                       # plotted against their budget (task-episodes)
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "trainer/run.h"

namespace hc::trainer {

struct PlanRun {
  std::string config, label;  // label: default the policy's name
  std::vector<std::string> overrides;
  std::string expect;  // the expected outcome, where it is known (e.g. from theory)
  std::string series;  // runs of one series differ in budget only
};

struct PlanGroup {
  std::string name, metric = "acc", notes;
  std::vector<uint64_t> seeds;  // empty: the plan's
  std::vector<std::string> seed_keys = {"train.seed"};
  std::vector<std::string> headline;  // metric keys; empty: chosen from `metric`
  std::vector<PlanRun> runs;
};

struct Plan {
  std::string title = "hypercomp comparison";
  std::vector<uint64_t> seeds;  // empty: each run once, with its config's seed
  std::vector<PlanGroup> groups;
};

// Reads a plan file; errors name the file, line and key.
Plan load_plan(const std::string& path);
// True if the YAML file is a plan (has `groups`) rather than a run config.
bool is_plan_file(const std::string& path);

// One training run of a compared configuration.
struct Trial {
  uint64_t seed = 0;
  std::string dir;
  std::vector<std::string> overrides;  // everything given to `hypercomp train` after the config
  nlohmann::json summary;
  std::vector<nlohmann::json> evals;  // the eval records of metrics.jsonl
  // A final metric; "<key>@start" is its value at the first evaluation, "<key>@best" at the
  // evaluation with the lowest validation loss (best.pt), "<key>@peak" its highest evaluated
  // value; "mean(<key>, <key>, ...)" the mean of several. NaN if absent.
  double value(const std::string& key) const;
  int64_t task_episodes = 0;  // outer steps x meta-batch: the run's training budget
};

struct ComparedRun {
  PlanRun spec;
  std::string label, policy, support;
  std::vector<Trial> trials;  // one per seed
  // Whether the metric is finite in every trial; its mean and (sample) standard deviation.
  bool has(const std::string& key) const;
  double mean(const std::string& key) const;
  double stddev(const std::string& key) const;
  // The largest fall of a metric from its peak evaluation to its final value over the trials
  // (0 when none fell): a run that collapsed shows here, whatever state is selected.
  double worst_drop(const std::string& key) const;
};

struct ComparedGroup {
  PlanGroup group;
  std::vector<ComparedRun> runs;
};

// A training a comparison needs: which run it is, for messages ("[3/8] theory / ring seed 5"),
// and the `hypercomp train` that makes it (a new run, or the resumption of an unfinished one).
struct TrainJob {
  std::string which;
  TrainOptions options;
};

struct CompareOptions {
  std::string runs_root;               // run directories: <root>/<group>/<label>[/seed<N>]
  std::vector<std::string> overrides;  // applied to every run
  bool fresh = false;                  // retrain finished runs
  bool quiet = false;                  // no progress display inside runs
  // Trains the unfinished runs, given all at once. Unset: one after another in this process.
  // `hypercomp compare --jobs N` runs N at a time as child processes (app/cmd_compare.cpp).
  // Each run is the same either way: it depends on its configuration and seed alone.
  std::function<void(const std::vector<TrainJob>&)> train_jobs;
};

struct Comparison {
  std::vector<ComparedGroup> groups;
};

// Trains (or resumes, or reuses) every run of the plan and collects the results. A run that
// cannot be continued (its history lost records, its checkpoint is damaged) is an Error naming
// the run and the file.
Comparison compare(const Plan& plan, const CompareOptions& options);

}  // namespace hc::trainer
