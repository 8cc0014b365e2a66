// Subroutines: named parts of a family's composite behaviour, each a subset of the data that
// exercises that part alone (Lepori, Serre & Pavlick, 2023, "Break It Down"). The structural
// compositionality probe (trainer/probe/) trains a weight mask on one subroutine's data and
// tests the subnetwork, and the network without it, on every subroutine.
//
// A subroutine picks tasks (which tasks' data it uses) and rows (which query rows of those
// tasks count). Support sets are never filtered: a meta-learned policy still adapts on the whole
// support set of a task, which is how it is told the task.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tasks/dataset.h"
#include "tasks/task_space.h"

namespace hc::tasks {

struct Subroutine {
  std::string name;         // identifier on the command line and in reports
  std::string description;  // one line, for reports
  // The tasks whose data the subroutine uses.
  std::function<bool(const Task&)> uses_task = [](const Task&) { return true; };
  // Whether row `row` of a query dataset of such a task counts.
  std::function<bool(const Dataset&, int64_t row)> counts_row = [](const Dataset&, int64_t) {
    return true;
  };
  // Optional, for rows told apart by what the dataset does not hold (the lander replays its
  // demonstrations to find the steps where the task's modules change the expert's action):
  // 1 for each query row of this instance (its data and the seed it was made from) that can
  // count; counts_row then decides among those.
  std::function<std::vector<uint8_t>(const TaskData&, uint64_t seed)> query_rows = nullptr;

  // Clears the mask of the rows that do not count by counts_row; returns how many still count.
  int64_t select_rows(Dataset& d) const { return keep_rows(d, {}); }
  // The same for the query set of an instance made from `seed`, query_rows first.
  int64_t select_rows(TaskData& d, uint64_t seed) const {
    return keep_rows(d.query, query_rows ? query_rows(d, seed) : std::vector<uint8_t>{});
  }

 private:
  int64_t keep_rows(Dataset& d, const std::vector<uint8_t>& can) const {
    int64_t kept = 0;
    for (int64_t r = 0; r < d.rows; ++r) {
      if (d.mask[r] == 0.0f) continue;
      if ((can.empty() || can[r]) && counts_row(d, r))
        ++kept;
      else
        d.mask[r] = 0.0f;
    }
    return kept;
  }
};

}  // namespace hc::tasks
