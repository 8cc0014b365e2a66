// Line plots written as PNG (learning curves of `hypercomp compare`).
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
};

void save_plot(const Plot& plot, const std::string& path);

// A distinct colour per index (qualitative palette).
Color palette(int i);

}  // namespace hc::render
