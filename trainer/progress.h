// A one-line progress display on stderr: step, rate, ETA and the latest metrics. On a terminal
// it redraws in place a few times a second; otherwise it prints a line every 10% of the run.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace hc::trainer {

class Progress {
 public:
  Progress(int64_t start, int64_t total, bool enabled);
  void update(int64_t step, const std::string& metrics);
  // Prints a full line above the bar, then the bar with `metrics` (the latest evaluation's).
  void message(const std::string& line, const std::string& metrics);
  void finish();

 private:
  void draw(bool force);
  int64_t start_, total_, step_;
  bool enabled_, tty_;
  std::string metrics_;
  std::chrono::steady_clock::time_point t0_, last_draw_;
  int64_t last_decile_ = -1;
  int64_t last_printed_ = -1;  // the step of the last line printed (not on a terminal)
};

std::string format_duration(double seconds);

}  // namespace hc::trainer
