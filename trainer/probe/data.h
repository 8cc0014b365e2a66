// The data a probe trains and scores masks on: task instances of one subroutine, packed into
// batches, with only the subroutine's query rows counting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tasks/task_family.h"
#include "trainer/batch.h"
#include "trainer/probe/mask.h"

namespace hc::probe {

// The subroutines a probe uses: every declared one (empty `names`) or the named ones; errors
// for a family without subroutines and for unknown names (listing the known ones).
std::vector<tasks::Subroutine> select_subroutines(const tasks::TaskFamily& family,
                                                  const std::vector<std::string>& names);

// One subroutine's data: batches of task instances (each cut into shards), with only the
// subroutine's rows counting in the query sets.
struct SubroutineSet {
  std::vector<std::vector<trainer::Batch>> batches;
  int64_t tasks = 0, rows = 0;  // task instances, counted query rows
  double chance = 0.0;          // accuracy of the best constant prediction on those rows
};
// `count` instances of the subroutine's tasks among `candidates`, drawn with `seed`; no batches
// and rows = 0 if none of their query rows counts.
SubroutineSet make_subroutine_set(const tasks::TaskFamily& family, const tasks::Subroutine& s,
                                  const std::vector<int64_t>& candidates, int count, int batch,
                                  int shards, uint64_t seed);
// Fraction of the set's counted rows predicted right with the weights multiplied by `mask`.
double accuracy(MaskedPolicy& model, const SubroutineSet& set, const MaskValues& mask,
                double tolerance);

}  // namespace hc::probe
