// The metrics files of a run directory: metrics.jsonl (every record, the source of truth), and
// train.csv / eval.csv (the same records as tables). Records are appended as a run goes; a
// checkpoint records what the files hold at that moment, so that a resumed run can check and
// repair them before it appends again.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "trainer/open_loop.h"

namespace hc::trainer {

// What one file holds at a checkpoint: its first `lines` lines, their checksum, and for a CSV
// its header (the column order, which metrics.jsonl does not keep).
struct MetricsFileState {
  int64_t lines = 0;
  uint64_t checksum = 0;
  std::string header;
};

struct MetricsState {
  // metrics.jsonl, train.csv, eval.csv
  std::array<MetricsFileState, 3> files;
  bool has_checksums = true;  // false for checkpoints of an older format (line counts only)
};

class MetricsFiles {
 public:
  static constexpr const char* kNames[3] = {"metrics.jsonl", "train.csv", "eval.csv"};

  explicit MetricsFiles(std::string dir) : dir_(std::move(dir)) {}

  // Brings the files back to `state` (an empty state: a run that restarts from step 0).
  // Records written after it, a torn last line among them, are dropped; a CSV that lost lines or
  // was changed is rebuilt from metrics.jsonl. metrics.jsonl itself cannot be rebuilt: if it holds
  // fewer records than `state` or different ones, this throws an Error naming it. Returns one
  // line per repair made, for the log. With `apply` false nothing is written: the same checks,
  // and the repairs that would be made.
  std::vector<std::string> restore(const MetricsState& state, bool apply = true);
  // Whether the files hold exactly what they held at `state` followed by the one record
  // write(kind, step, ...) appends with these values (JSON numbers, null for non-finite): what a
  // finished run holds after its last checkpoint, its final evaluation. "" if so, else which
  // file differs.
  std::string check_final(const MetricsState& state, const std::string& kind, int64_t step,
                          const nlohmann::json& values) const;
  // Appends one record ("train" or "eval") to metrics.jsonl and to its CSV.
  void write(const std::string& kind, int64_t step, const Metrics& m);
  // What the files hold now (reads them to checksum them: they are small).
  MetricsState state() const;

 private:
  std::string path(int file) const;
  std::string dir_;
  std::array<int64_t, 3> lines_{0, 0, 0};
  std::array<std::string, 3> headers_;
};

}  // namespace hc::trainer
