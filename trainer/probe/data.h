// The data a probe trains and scores masks on: task instances of one subroutine, packed into
// batches, with only the subroutine's query rows counting.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tasks/task_family.h"
#include "trainer/batch.h"
#include "trainer/probe/config.h"
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
  // Loss per counted row of the best constant prediction under that loss: the label entropy
  // (cross-entropy of the label frequencies) for classes, half the summed variance (squared
  // error of the mean action) for action vectors; NaN for other target kinds.
  double chance_loss = 0.0;
};
// `count` instances of the subroutine's tasks among `candidates`, drawn with `seed`; no batches
// and rows = 0 if none of their query rows counts.
SubroutineSet make_subroutine_set(const tasks::TaskFamily& family, const tasks::Subroutine& s,
                                  const std::vector<int64_t>& candidates, int count, int batch,
                                  int shards, uint64_t seed);
// How well the model with its weights multiplied by `mask` performs the set's counted rows:
// accuracy, the fraction predicted right; loss, max(0, 1 - L / chance_loss) with L the model's
// loss per counted row (1: no loss, 0: the best constant prediction's or worse; NaN if the
// constant prediction has no loss to remove).
double measure(MaskedPolicy& model, const SubroutineSet& set, const MaskValues& mask,
               double tolerance, Metric metric);
// What the best constant prediction measures: its accuracy, or 0 under the loss metric.
double chance_of(const SubroutineSet& set, Metric metric);

}  // namespace hc::probe
