// Evaluation of a learner on fixed sets of tasks, by three units that can also be used alone:
// open-loop query statistics (open_loop.h), closed-loop episodes in the environment
// (closed_loop.h) and the identification probe (identification.h).
#pragma once

#include <string>
#include <vector>

#include "tasks/task_family.h"
#include "trainer/batch.h"
#include "trainer/config.h"
#include "trainer/meta_learner.h"
#include "trainer/open_loop.h"

namespace hc::trainer {

struct EvalSet {
  std::string name;  // test (training combinations, fresh data), valid, ood, ood_hot<h>
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  Draw draw = Draw::kTraining;  // held out for the OOD sets
};

// The evaluation sets of a run: fixed by the seed, the same at every evaluation.
std::vector<EvalSet> make_eval_sets(const tasks::TaskFamily& family, const EvalConfig& config,
                                    uint64_t seed);

class Evaluator {
 public:
  // Sets are evaluated in chunks of `chunk` tasks, each cut into `shards` shards as in training.
  // In a group of `world` processes, each rank adapts its own shards of every chunk and run()
  // is collective: rank 0 gathers the adapted results and returns the metrics, exactly those of
  // one process; the other ranks return none.
  Evaluator(const tasks::TaskFamily& family, const EvalConfig& config, uint64_t seed, int chunk,
            int shards, int rank = 0, int world = 1);
  Metrics run(Learner& learner);
  const std::vector<EvalSet>& sets() const { return sets_; }

 private:
  struct Prepared {
    EvalSet set;
    std::vector<std::vector<Batch>> chunks;  // chunks of at most `chunk` tasks, in shards
  };
  // Rank 0 receives the other ranks' shards of a chunk; false on the other ranks.
  bool gather(Learner& learner, std::vector<Adapted>& adapted, std::vector<torch::Tensor>& outputs,
              int first, int last);

  const tasks::TaskFamily& family_;
  EvalConfig config_;
  std::vector<EvalSet> sets_;
  std::vector<Prepared> prepared_;
  int rank_, world_;
};

}  // namespace hc::trainer
