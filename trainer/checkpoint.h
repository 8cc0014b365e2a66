// Checkpoints: everything needed to continue a run exactly -- model and optimizer state, the
// step (which fixes the task and data streams), skipped-step and best-state bookkeeping, and
// how many metric lines had been written. Written atomically with a checksum, so a crash never
// leaves a half-written checkpoint and a damaged one is refused with a clear error.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "agents/policy.h"
#include "trainer/metrics_files.h"

namespace hc::trainer {

struct CheckpointState {
  int64_t step = 0;     // outer steps completed
  int64_t skipped = 0;  // steps skipped for non-finite meta-gradients
  double best_valid_loss = std::numeric_limits<double>::infinity();
  int64_t best_step = -1;
  MetricsState metrics;  // what the metrics files held when the checkpoint was written
  int64_t threads = 0;   // shards of the run (informational: train.shards is in `config`)
  double wall_time = 0;  // seconds spent so far
  std::string config;    // the run's resolved config (YAML), to refuse a mismatched resume
};

void save_checkpoint(const std::string& path, agents::PolicyImpl& policy,
                     torch::optim::Optimizer* optimizer, const CheckpointState& state);
// The bytes save_checkpoint writes (also how rank 0 hands its state to the other ranks).
std::string checkpoint_bytes(agents::PolicyImpl& policy, torch::optim::Optimizer* optimizer,
                             const CheckpointState& state);
// Loads into `policy` (and `optimizer` unless null); throws hc::Error naming the file when it is
// missing, truncated, corrupt, or does not fit the policy.
// With `config_file` given, a checkpoint whose recorded configuration is not that file's text
// (`config_text`) is refused before anything is loaded.
CheckpointState load_checkpoint(const std::string& path, agents::PolicyImpl& policy,
                                torch::optim::Optimizer* optimizer,
                                const std::string& config_file = "",
                                const std::string& config_text = "");
// The state alone (no parameters loaded), with the same checks of the bytes and configuration.
CheckpointState read_checkpoint_state(const std::string& path, const std::string& config_file = "",
                                      const std::string& config_text = "");
// The same from checkpoint bytes; `path` names them in errors.
CheckpointState load_checkpoint_bytes(std::string data, const std::string& path,
                                      agents::PolicyImpl& policy,
                                      torch::optim::Optimizer* optimizer,
                                      const std::string& config_file = "",
                                      const std::string& config_text = "");

}  // namespace hc::trainer
