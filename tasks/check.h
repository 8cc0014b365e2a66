// Conformance checks of a task family's splits and datasets. families/check.h runs them with the
// environment checks (envs/core/check.h) over the whole registry, and `hypercomp check <family>`
// runs them on any configuration, so a new family is covered without writing a test.
#pragma once

#include <string>
#include <vector>

#include "tasks/task_family.h"

namespace hc::tasks {

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

// A deterministic sample of the training and OOD tasks (and two of every OOD-by-hotness set).
std::vector<int64_t> sample_tasks(const TaskFamily& family, const CheckOptions& o);
// "<family> task <id> (<description>) seed <seed>", for failure lines.
std::string where(const TaskFamily& family, int64_t id, uint64_t seed);

// For every support that applies: train and OOD disjoint, deterministic, of the sizes the
// support's definition implies (re-derived here from the definitions), covering every factor
// value where the support promises it.
void check_splits(const TaskFamily& family, const CheckOptions& o, CheckReport& r);
// Support/query datasets are consistent (sizes, labels, masks, episodes) and deterministic.
void check_datasets(const TaskFamily& family, const CheckOptions& o, CheckReport& r);

}  // namespace hc::tasks
