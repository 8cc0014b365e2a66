// The probe's report: a Markdown section per family (verdicts by policy, mask and subroutine
// beside the paper's rule's tests and the controls; raw accuracies per trained model; time),
// CSV tables of every mask and of every search entry, and a plot of the scores.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "trainer/probe/config.h"
#include "trainer/probe/search.h"

namespace hc::probe {

// Scores with their intervals by category, for a plot (drawn by the caller, which may have no
// renderer).
struct ScorePlot {
  struct Series {
    std::string label;
    std::vector<double> y, lo, hi;  // NaN: nothing drawn
  };
  std::string title, y_label;
  std::vector<std::string> categories;
  std::vector<Series> series;
};
using DrawPlot = std::function<void(const ScorePlot&, const std::string& png_path)>;

struct ReportHeader {
  std::string command, machine, generated;
  double seconds = 0.0;  // wall time of the whole probe
  int reused = 0;        // subroutine probes read back from an interrupted run of the probe
};

// The Markdown of `results` (every family), writing the CSV tables and plots into `out`; links
// are relative to `report_dir`. `draw` may be empty (no plots).
std::string report_markdown(const std::vector<ModelProbe>& results, const ProbeConfig& config,
                            const ReportHeader& header, const std::filesystem::path& out,
                            const std::filesystem::path& report_dir, const DrawPlot& draw);

// A report file whose region NAME (<!-- probe:begin NAME --> ... <!-- probe:end NAME -->) is
// rewritten, or a new file; an existing file without the region is refused at construction,
// before any work.
class ReportFile {
 public:
  ReportFile(std::string path, const std::string& name);
  void write(const std::string& markdown) const;
  const std::string& path() const { return path_; }

 private:
  std::string path_, name_;
};

}  // namespace hc::probe
