// Conformance checks every task family must pass. The test suite runs them over the whole
// registry, and `hypercomp check <family>` runs them on any configuration, so a new family is
// covered without writing a test.
#pragma once

#include <string>
#include <vector>

#include "envs/core/task_family.h"

namespace hc::envs {

struct CheckReport {
  std::vector<std::string> failures;  // one line each: what failed, for which task and seed
  int checked = 0;                    // number of individual assertions made
  bool ok() const { return failures.empty(); }
  void expect(bool condition, const std::string& what);
  std::string summary() const;
};

struct CheckOptions {
  int tasks = 24;          // tasks sampled per check (expert check: all tasks up to max_tasks)
  int seeds = 3;           // episode seeds per task
  int64_t max_tasks = 2000;
  uint64_t seed = 12345;
};

// Same seed, same episode (bitwise); a different seed, a different episode.
void check_determinism(const TaskFamily& family, const CheckOptions& o, CheckReport& r);
// Every observation of random rollouts lies in the observation spec.
void check_observations(const TaskFamily& family, const CheckOptions& o, CheckReport& r);
// Invalid actions, stepping a finished or unstarted episode, out-of-range or malformed tasks
// raise EnvError and leave the environment unchanged.
void check_invalid_input(const TaskFamily& family, const CheckOptions& o, CheckReport& r);
// The expert's episode on every task is valid and optimal: its discounted return equals the
// optimal value the expert reports for the start state.
void check_expert(const TaskFamily& family, const CheckOptions& o, CheckReport& r);
// For every support that applies: train and OOD disjoint, deterministic, of the sizes the
// support's definition implies (re-derived here from the definitions), covering every factor
// value where the support promises it.
void check_splits(const TaskFamily& family, const CheckOptions& o, CheckReport& r);
// Support/query datasets are consistent (sizes, labels, masks, episodes) and deterministic.
void check_datasets(const TaskFamily& family, const CheckOptions& o, CheckReport& r);

// Runs the checks that apply to the family (the environment checks only for env families).
CheckReport check_family(const TaskFamily& family, const CheckOptions& o = {});

}  // namespace hc::envs
