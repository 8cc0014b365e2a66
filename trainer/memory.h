// How much memory a training configuration needs, measured before it trains: a refused
// configuration costs seconds, not an out-of-memory crash after minutes of work.
#pragma once

#include <string>

#include "trainer/config.h"

namespace hc::trainer {

struct MemoryEstimate {
  double step_per_task = 0;  // peak bytes per task of a meta-step shard (activations, graph)
  double data_per_task = 0;  // bytes of one task's packed support and query data
  // The run's estimated peak, in bytes, and its three parts (allocator overhead included): the
  // meta-step shards that run at once, a meta-batch's data, and the evaluation sets' data.
  double needed = 0, step = 0, data = 0, eval = 0;
  double available = 0;  // bytes this process may still use (MemAvailable, cgroup limit)
  // How step_per_task was found: "" (measured at the run's own width), or from narrower copies
  // of the configuration (above policy.hidden = kMeasuredWidth).
  std::string extrapolated;
  std::string summary() const;  // one line, for the log
};

// Widths up to this are measured as they are. A wider policy's per-task peak (one task at full
// width can itself take many gigabytes and minutes) is first extrapolated from narrow copies of
// the configuration, which refuses at once what is far beyond the memory there is; otherwise it
// is measured at the run's width if that surely fits in a quarter of the memory, else at the
// widest width that does, scaled up (an upper bound).
constexpr int kMeasuredWidth = 512;

// Measures a small meta-step shard of the configuration's learner on its own data (a learner
// built for the purpose), then scales to the meta-batch, the shards that run at once and the
// evaluation sets.
MemoryEstimate estimate_memory(const RunConfig& config);

// Throws ConfigError, naming the keys that drive the largest part, if the estimate exceeds the
// memory available; returns a warning ("" if none) when it takes most of it.
std::string check_memory(const RunConfig& config, const MemoryEstimate& estimate);

// Bytes this process may still allocate: MemAvailable, or the cgroup's limit if lower.
double available_memory();

}  // namespace hc::trainer
