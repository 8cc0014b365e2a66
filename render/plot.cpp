#include "render/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hc::render {
namespace {

// Tick positions at 1, 2 or 5 times a power of ten, about `count` of them.
std::vector<double> ticks(double lo, double hi, int count) {
  const double raw = (hi - lo) / count;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  double step = p;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * p) {
      step = m * p;
      break;
    }
  std::vector<double> out;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step)
    out.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  return out;
}

std::string tick_label(double v) {
  if (v != 0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-3)) return fmt::format("{:.0e}", v);
  std::string s = fmt::format("{:.4f}", v);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s;
}

// The title centred over the plot area, shrunk (down to 10 px) and shifted so that a long one
// stays inside the image instead of running off its left edge.
void draw_title(Canvas& c, const std::string& title, float centre, Color ink) {
  const float margin = 8;
  int size = 16;
  while (size > 10 && c.text_width(title, size) > c.width() - 2 * margin) --size;
  const float half = c.text_width(title, size) / 2;
  centre = std::max(centre, margin + half);
  centre = std::min(centre, std::max(margin + half, c.width() - margin - half));
  c.text(title, centre, 26, size, ink, 0.5f);
}

}  // namespace

Color palette(int i) {
  static const Color colors[] = {{31, 119, 180},  {214, 39, 40}, {44, 160, 44},   {255, 127, 14},
                                 {148, 103, 189}, {140, 86, 75}, {227, 119, 194}, {23, 190, 207}};
  return colors[i % 8];
}

// Ticks of a logarithmic axis over [lo, hi] (in log10 units): 1, 2 and 5 times powers of ten,
// only the powers when the range spans more than two decades.
std::vector<double> log_ticks(double lo, double hi) {
  std::vector<double> out;
  const bool wide = hi - lo > 2.0;
  for (double d = std::floor(lo); d <= std::ceil(hi); ++d)
    for (double m : {1.0, 2.0, 5.0}) {
      if (wide && m != 1.0) continue;
      const double t = d + std::log10(m);
      if (t >= lo - 1e-9 && t <= hi + 1e-9) out.push_back(t);
    }
  return out;
}

void save_plot(const Plot& plot, const std::string& path) {
  Canvas c(plot.width, plot.height);
  // x in axis units: log10 of the value on a logarithmic axis.
  const auto ax = [&](double x) { return plot.log_x ? std::log10(x) : x; };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : plot.series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.y[i]) || !std::isfinite(ax(s.x[i]))) continue;
      x0 = std::min(x0, ax(s.x[i])), x1 = std::max(x1, ax(s.x[i]));
      y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
      if (i < s.lo.size() && std::isfinite(s.lo[i])) y0 = std::min(y0, s.lo[i]);
      if (i < s.hi.size() && std::isfinite(s.hi[i])) y1 = std::max(y1, s.hi[i]);
    }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (std::isfinite(plot.y_min)) y0 = plot.y_min;
  if (std::isfinite(plot.y_max)) y1 = plot.y_max;
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= y0) y1 = y0 + 1;
  const double pad = 0.04 * (y1 - y0);
  y0 -= pad, y1 += pad;
  if (plot.log_x) {  // a margin so the first and last points are not on the frame
    const double margin = 0.04 * (x1 - x0);
    x0 -= margin, x1 += margin;
  }

  // The legend column is as wide as the longest label (52 px of line sample before the text).
  float legend = 0;
  for (const Series& s : plot.series) legend = std::max(legend, c.text_width(s.label, 12));
  const float left = 78, right = std::max(230.0f, legend + 64), top = 44, bottom = 58;
  const float w = plot.width - left - right, h = plot.height - top - bottom;
  const auto X = [&](double x) { return static_cast<float>(left + (ax(x) - x0) / (x1 - x0) * w); };
  const auto Y = [&](double y) { return static_cast<float>(top + (y1 - y) / (y1 - y0) * h); };
  const Color ink{40, 40, 40}, grid{225, 225, 225};

  for (double t : ticks(y0, y1, 6)) {
    c.line(left, Y(t), left + w, Y(t), grid);
    c.text(tick_label(t), left - 8, Y(t) + 4, 12, ink, 1.0f);
  }
  for (double t : plot.log_x ? log_ticks(x0, x1) : ticks(x0, x1, 7)) {
    const double value = plot.log_x ? std::pow(10.0, t) : t;
    c.line(X(value), top, X(value), top + h, grid);
    c.text(tick_label(value), X(value), top + h + 18, 12, ink, 0.5f);
  }
  c.line(left, top + h, left + w, top + h, ink);
  c.line(left, top, left, top + h, ink);
  draw_title(c, plot.title, left + w / 2, ink);
  c.text(plot.x_label, left + w / 2, plot.height - 16.0f, 13, ink, 0.5f);
  c.text(plot.y_label, 22, top + h / 2, 13, ink, 0.5f, /*vertical=*/true);

  // Bands first, under every line: a light fill between lo and hi, segment by segment.
  for (const Series& s : plot.series) {
    if (s.lo.size() != s.x.size() || s.hi.size() != s.x.size()) continue;
    for (size_t i = 0; i + 1 < s.x.size(); ++i)
      if (std::isfinite(s.lo[i]) && std::isfinite(s.hi[i]) && std::isfinite(s.lo[i + 1]) &&
          std::isfinite(s.hi[i + 1]))
        c.fill_polygon({{X(s.x[i]), Y(s.lo[i])},
                        {X(s.x[i + 1]), Y(s.lo[i + 1])},
                        {X(s.x[i + 1]), Y(s.hi[i + 1])},
                        {X(s.x[i]), Y(s.hi[i])}},
                       Color{s.color.r, s.color.g, s.color.b, 46});  // translucent: bands overlap
  }
  for (const Series& s : plot.series) {
    for (size_t i = 0; i + 1 < s.x.size(); ++i)
      if (std::isfinite(s.y[i]) && std::isfinite(s.y[i + 1]))
        c.line(X(s.x[i]), Y(s.y[i]), X(s.x[i + 1]), Y(s.y[i + 1]), s.color, 2.0f,
               s.dashed ? 6.0f : 0.0f);
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.y[i])) c.fill_circle(X(s.x[i]), Y(s.y[i]), 2.5f, s.color);
  }
  float ly = top + 10;
  for (const Series& s : plot.series) {
    c.line(left + w + 16, ly - 4, left + w + 46, ly - 4, s.color, 2.0f, s.dashed ? 6.0f : 0.0f);
    c.text(s.label, left + w + 52, ly, 12, ink);
    ly += 20;
  }
  c.save_png(path);
}

void save_interval_plot(const IntervalPlot& plot, const std::string& path) {
  const size_t nc = plot.categories.size(), ns = plot.series.size();
  const int width = plot.width > 0 ? plot.width : std::max(720, 140 + 150 * static_cast<int>(nc));
  Canvas c(width, plot.height);
  double y0 = INFINITY, y1 = -INFINITY;
  for (const IntervalSeries& s : plot.series)
    for (const auto* v : {&s.y, &s.lo, &s.hi})
      for (double x : *v)
        if (std::isfinite(x)) y0 = std::min(y0, x), y1 = std::max(y1, x);
  if (plot.zero_line) y0 = std::min(y0, 0.0), y1 = std::max(y1, 0.0);
  if (!std::isfinite(y0)) y0 = 0, y1 = 1;
  if (std::isfinite(plot.y_min)) y0 = plot.y_min;
  if (std::isfinite(plot.y_max)) y1 = plot.y_max;
  if (y1 <= y0) y1 = y0 + 1;
  const double pad = 0.05 * (y1 - y0);
  y0 -= pad, y1 += pad;

  size_t lines = 1;
  for (const auto& cat : plot.categories)
    lines = std::max<size_t>(lines, std::count(cat.begin(), cat.end(), '\n') + 1);
  const float left = 78, right = 24, top = 44;
  const float legend_rows = static_cast<float>((ns + 2) / 3);
  const float bottom = 30 + 16 * static_cast<float>(lines) + 20 * legend_rows;
  const float w = width - left - right, h = plot.height - top - bottom;
  const float slot = w / static_cast<float>(std::max<size_t>(nc, 1));
  // Intervals reaching past a fixed range are drawn to its edge.
  const auto Y = [&](double y) {
    return static_cast<float>(top + (y1 - std::clamp(y, y0, y1)) / (y1 - y0) * h);
  };
  const auto X = [&](size_t cat, size_t series) {
    const float inner = slot * 0.7f;
    const float step = ns > 1 ? inner / static_cast<float>(ns - 1) : 0.0f;
    return left + slot * (static_cast<float>(cat) + 0.5f) - (ns > 1 ? inner / 2 : 0.0f) +
           step * static_cast<float>(series);
  };
  const Color ink{40, 40, 40}, grid{225, 225, 225};

  for (double t : ticks(y0, y1, 6)) {
    c.line(left, Y(t), left + w, Y(t), grid);
    c.text(tick_label(t), left - 8, Y(t) + 4, 12, ink, 1.0f);
  }
  for (size_t i = 1; i < nc; ++i) c.line(left + slot * i, top, left + slot * i, top + h, grid);
  if (plot.zero_line && y0 < 0 && y1 > 0) c.line(left, Y(0), left + w, Y(0), ink, 1.0f, 5.0f);
  c.line(left, top + h, left + w, top + h, ink);
  c.line(left, top, left, top + h, ink);
  draw_title(c, plot.title, left + w / 2, ink);
  c.text(plot.y_label, 22, top + h / 2, 13, ink, 0.5f, /*vertical=*/true);
  for (size_t i = 0; i < nc; ++i) {
    const std::string& cat = plot.categories[i];
    size_t start = 0;
    for (int line = 0; start <= cat.size(); ++line) {
      const size_t end = std::min(cat.find('\n', start), cat.size());
      c.text(cat.substr(start, end - start), left + slot * (i + 0.5f), top + h + 18 + 16 * line, 12,
             ink, 0.5f);
      start = end + 1;
    }
  }
  for (size_t s = 0; s < ns; ++s) {
    const IntervalSeries& se = plot.series[s];
    for (size_t i = 0; i < nc && i < se.y.size(); ++i) {
      const float x = X(i, s);
      if (i < se.lo.size() && i < se.hi.size() && std::isfinite(se.lo[i]) &&
          std::isfinite(se.hi[i])) {
        c.line(x, Y(se.lo[i]), x, Y(se.hi[i]), se.color, 2.0f);
        c.line(x - 5, Y(se.lo[i]), x + 5, Y(se.lo[i]), se.color, 2.0f);
        c.line(x - 5, Y(se.hi[i]), x + 5, Y(se.hi[i]), se.color, 2.0f);
      }
      if (std::isfinite(se.y[i])) c.fill_circle(x, Y(se.y[i]), 4.5f, se.color);
    }
  }
  // The legend under the axis, three entries a row.
  const float ly0 = top + h + 30 + 16 * static_cast<float>(lines);
  for (size_t s = 0; s < ns; ++s) {
    const float lx = left + (w / 3) * static_cast<float>(s % 3), ly = ly0 + 20 * (s / 3);
    c.fill_circle(lx + 8, ly - 4, 4.5f, plot.series[s].color);
    c.text(plot.series[s].label, lx + 20, ly, 12, ink);
  }
  c.save_png(path);
}

}  // namespace hc::render
