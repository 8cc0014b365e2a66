// How much memory a training configuration needs, measured before it trains: a refused
// configuration costs a second, not an out-of-memory crash after minutes of work.
#pragma once

#include <string>

#include "trainer/config.h"
#include "trainer/meta_learner.h"

namespace hc::trainer {

struct MemoryEstimate {
  double step_per_task = 0;     // peak bytes per task of a meta-step shard (activations, graph)
  double data_per_task = 0;     // bytes of one task's packed support and query data
  double needed = 0;            // the run's estimated peak, in bytes
  double available = 0;         // bytes this process may still use (MemAvailable, cgroup limit)
  std::string summary() const;  // one line, for the log
};

// Measures a small meta-step shard of `learner` on the configuration's own data (the model is
// not changed), then scales to the meta-batch, the shards that run at once and the evaluation
// sets.
MemoryEstimate estimate_memory(const RunConfig& config, Learner& learner);

// Throws ConfigError, naming the keys that drive the size, if the estimate exceeds the memory
// available; returns a warning ("" if none) when it takes most of it.
std::string check_memory(const RunConfig& config, const MemoryEstimate& estimate);

// Bytes this process may still allocate: MemAvailable, or the cgroup's limit if lower.
double available_memory();

}  // namespace hc::trainer
