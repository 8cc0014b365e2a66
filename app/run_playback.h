// A trained run as the policy of a playback (render/playback.h): adapted on a task's support
// demonstrations as evaluation adapts it, then asked for its outputs step by step.
#pragma once

#include <memory>
#include <string>

#include "render/playback.h"
#include "trainer/run.h"

namespace hc::app {

class RunPlayback : public render::PlaybackPolicy {
 public:
  // Loads checkpoint.pt (best.pt with `best`) of the run directory `dir` (load_run).
  RunPlayback(const std::string& dir, bool best);
  const trainer::LoadedRun& run() const { return run_; }
  std::string name() const override;
  Adapted adapt(const envs::EnvFamily& family, int64_t id, uint64_t seed) const override;

 private:
  trainer::LoadedRun run_;
};

}  // namespace hc::app
