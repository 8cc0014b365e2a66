// A training run on disk: `hypercomp train` and `hypercomp eval`.
//
// runs/<name>/
//   config.yaml    the resolved configuration (every key, defaults included)
//   metrics.jsonl  one JSON object per record: {"kind": "train" | "eval", "step": ..., ...}
//   train.csv      the train records; eval.csv the eval records
//   train.log      human-readable log
//   checkpoint.pt  latest state (atomic); best.pt: parameters with the lowest valid loss
//   summary.json   written when the run ends: final and best metrics, wall time, peak memory
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trainer/distributed.h"
#include "trainer/evaluate.h"

namespace hc::trainer {

struct TrainOptions {
  std::string config;                  // config file of a new run
  std::vector<std::string> overrides;  // section.key=value
  std::string run_dir;                 // default: runs/<config stem>-<date>-<time>
  std::string resume;                  // run directory to continue
  bool quiet = false;                  // no progress display
  DistOptions dist;                    // a rank of a distributed run (distributed.h)
};

struct RunResult {
  std::string dir;
  Metrics final_metrics;
  double wall_time = 0;
  int64_t best_step = -1;
  bool finished_earlier = false;  // resumed a finished run, intact: nothing was trained
};

RunResult train(const TrainOptions& options);

// A trained run loaded for use (evaluation, watching, probing): its configuration and its
// policy and learner at a checkpoint.
struct LoadedRun {
  RunConfig config;
  std::string dir, checkpoint;
  int64_t step = 0;  // outer steps the checkpoint had completed
  agents::Policy policy;
  std::unique_ptr<Learner> learner;
};
// Loads checkpoint.pt (or best.pt) of a run directory; the Error names what is missing (the
// directory, its config, a checkpoint not written yet) or mismatched.
LoadedRun load_run(const std::string& dir, bool best = false);

// A finished run's summary.json, checked: an object with every field that resume, eval and
// compare read, of its type, describing the run of `config`. Throws an Error naming the file
// and the field.
nlohmann::json read_summary(const std::string& dir, const RunConfig& config);

struct EvalOptions {
  std::string run_dir;
  bool best = false;  // evaluate best.pt instead of checkpoint.pt
  bool quiet = false;
};
Metrics evaluate_run(const EvalOptions& options);

}  // namespace hc::trainer
