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
//       metric: acc                 # curves of test/<metric> (solid) and ood/<metric> (dashed)
//       notes: free text shown under the group's heading
//       runs:
//         - configs/quick/goals_hnet_linear.yaml
//         - {config: configs/quick/hyperteacher.yaml, label: connected,
//            overrides: [family.support=connected]}
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace hc::trainer {

struct PlanRun {
  std::string config, label;  // label: default the policy's name
  std::vector<std::string> overrides;
};

struct PlanGroup {
  std::string name, metric = "acc", notes;
  std::vector<uint64_t> seeds;  // empty: the plan's
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
  // value. NaN if absent.
  double value(const std::string& key) const;
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

struct CompareOptions {
  std::string runs_root;               // run directories: <root>/<group>/<label>[/seed<N>]
  std::vector<std::string> overrides;  // applied to every run
  bool fresh = false;                  // retrain finished runs
  bool quiet = false;                  // no progress display inside runs
};

struct Comparison {
  std::vector<ComparedGroup> groups;
};

// Trains (or resumes, or reuses) every run of the plan and collects the results. A run that
// cannot be continued (its history lost records, its checkpoint is damaged) is an Error naming
// the run and the file.
Comparison compare(const Plan& plan, const CompareOptions& options);

}  // namespace hc::trainer
