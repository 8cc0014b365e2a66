// Plots written as PNG: line plots (learning curves of `hypercomp compare`) and point estimates
// with intervals by category (the scores of `hypercomp probe` beside their controls).
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include "render/canvas.h"

namespace hc::render {

struct Series {
  std::string label;
  std::vector<double> x, y;    // non-finite y values are gaps
  std::vector<double> lo, hi;  // optional band around y (e.g. mean +- standard deviation)
  Color color;
  bool dashed = false;
};

struct Plot {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  int width = 960, height = 600;
  double y_min = NAN, y_max = NAN;  // NaN: from the data
  bool log_x = false;               // logarithmic x axis (x values > 0)
};

void save_plot(const Plot& plot, const std::string& path);

// One value per category with its interval [lo, hi] (NaN: nothing drawn).
struct IntervalSeries {
  std::string label;
  std::vector<double> y, lo, hi;
  Color color;
};

struct IntervalPlot {
  std::string title, y_label;
  std::vector<std::string> categories;  // x axis; '\n' breaks a label into lines
  std::vector<IntervalSeries> series;   // drawn side by side within each category
  int width = 0, height = 560;          // width 0: from the number of categories
  double y_min = NAN, y_max = NAN;      // NaN: from the data
  bool zero_line = true;                // a dashed line at y = 0
};

void save_interval_plot(const IntervalPlot& plot, const std::string& path);

// A distinct colour per index (qualitative palette).
Color palette(int i);

}  // namespace hc::render
