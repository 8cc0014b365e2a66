#include "envs/core/scene.h"

#include <algorithm>
#include <cmath>

namespace hc::envs {

std::string to_ascii(const Scene& scene, int cols, int rows) {
  std::vector<std::string> raster(rows, std::string(cols, '.'));
  const float sx = scene.width / cols, sy = scene.height / rows;
  for (const Shape& s : scene.shapes) {
    if (!s.glyph || s.points.empty()) continue;
    // A cell takes the glyph of the last shape that covers the cell's centre.
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        const float x = (c + 0.5f) * sx, y = (r + 0.5f) * sy;
        bool hit = false;
        switch (s.kind) {
          case Shape::Kind::kRect:
            hit = x >= s.points[0].x && x < s.points[1].x && y >= s.points[0].y &&
                  y < s.points[1].y;
            break;
          case Shape::Kind::kCircle: {
            const float dx = x - s.points[0].x, dy = y - s.points[0].y;
            const float r2 = std::max(s.radius * s.radius, 0.25f * (sx * sx + sy * sy));
            hit = dx * dx + dy * dy <= r2;
            break;
          }
          case Shape::Kind::kPolygon: {  // even-odd rule
            const auto& p = s.points;
            for (size_t i = 0, j = p.size() - 1; i < p.size(); j = i++)
              if ((p[i].y > y) != (p[j].y > y) &&
                  x < (p[j].x - p[i].x) * (y - p[i].y) / (p[j].y - p[i].y) + p[i].x)
                hit = !hit;
            break;
          }
          case Shape::Kind::kLine:
            break;
        }
        if (hit) raster[r][c] = s.glyph;
      }
    }
  }
  std::string out;
  for (const auto& line : raster) out += line + "\n";
  return out;
}

}  // namespace hc::envs
