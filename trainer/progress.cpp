#include "trainer/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace hc::trainer {

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e8) return "?";
  const auto t = static_cast<int64_t>(s + 0.5);
  if (t >= 3600) return fmt::format("{}h{:02}m", t / 3600, t / 60 % 60);
  if (t >= 60) return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

Progress::Progress(int64_t start, int64_t total, bool enabled)
    : start_(start), total_(total), step_(start), enabled_(enabled), tty_(isatty(2) != 0) {
  t0_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::update(int64_t step, const std::string& metrics) {
  step_ = step;
  if (!metrics.empty()) metrics_ = metrics;
  draw(false);
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - t0_).count();
  const double rate = elapsed > 0 ? static_cast<double>(step_ - start_) / elapsed : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - step_) / rate : -1.0;
  const double frac = total_ > 0 ? static_cast<double>(step_) / static_cast<double>(total_) : 1.0;
  if (tty_) {
    if (!force && std::chrono::duration<double>(now - last_draw_).count() < 0.2) return;
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(frac * kWidth);
    std::string bar(filled, '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r\033[K[%s] %lld/%lld %.2f steps/s ETA %s %s", bar.c_str(),
                 static_cast<long long>(step_), static_cast<long long>(total_), rate,
                 format_duration(eta).c_str(), metrics_.c_str());
    std::fflush(stderr);
    last_draw_ = now;
    return;
  }
  const auto decile = static_cast<int64_t>(frac * 10);
  if (!force && decile == last_decile_) return;
  last_decile_ = decile;
  last_printed_ = step_;
  std::fprintf(stderr, "step %lld/%lld (%3.0f%%) %.2f steps/s ETA %s %s\n",
               static_cast<long long>(step_), static_cast<long long>(total_), 100 * frac, rate,
               format_duration(eta).c_str(), metrics_.c_str());
}

void Progress::message(const std::string& line, const std::string& metrics) {
  if (!enabled_) return;
  if (!metrics.empty()) metrics_ = metrics;
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", line.c_str());
  draw(true);
}

void Progress::finish() {
  if (!enabled_) return;
  if (!tty_ && last_printed_ == step_) return;  // the final evaluation's line already says it
  draw(true);
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace hc::trainer
