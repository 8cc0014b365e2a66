#include "envs/core/scene.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace hc::envs {

Scene Scene::grid(int cols, int rows) {
  Scene s;
  s.min = {0, 0};
  s.max = {static_cast<float>(cols), static_cast<float>(rows)};
  return s;
}

void Scene::rect(float x0, float y0, float x1, float y1, Color c, char glyph) {
  shapes.push_back({Shape::Kind::kRect, {{x0, y0}, {x1, y1}}, 0, c, glyph, {}});
}

void Scene::circle(float x, float y, float r, Color c, char glyph) {
  shapes.push_back({Shape::Kind::kCircle, {{x, y}}, r, c, glyph, {}});
}

void Scene::polygon(std::vector<Vec2> points, Color c, char glyph) {
  shapes.push_back({Shape::Kind::kPolygon, std::move(points), 0, c, glyph, {}});
}

void Scene::line(std::vector<Vec2> points, float width, Color c) {
  shapes.push_back({Shape::Kind::kLine, std::move(points), width, c, 0, {}});
}

void Scene::marker(int kind, float x, float y, float r, Color c, char glyph) {
  kind = ((kind % kMarkers) + kMarkers) % kMarkers;
  if (kind == 0) return circle(x, y, r, c, glyph);
  // y points down in grids and up in physics; the polygons are symmetric enough either way.
  const auto ring = [&](int n, float radius, float phase) {
    std::vector<Vec2> p;
    for (int i = 0; i < n; ++i) {
      const double a = phase + 2 * std::numbers::pi * i / n;
      p.push_back({x + radius * static_cast<float>(std::cos(a)),
                   y + radius * static_cast<float>(std::sin(a))});
    }
    return p;
  };
  constexpr double q = std::numbers::pi / 4, up = -std::numbers::pi / 2;
  switch (kind) {
    case 1: return polygon(ring(4, r, q), c, glyph);                 // square
    case 2: return polygon(ring(3, r * 1.1f, up), c, glyph);         // triangle
    case 3: return polygon(ring(4, r * 1.1f, 0), c, glyph);          // diamond
    case 4: return polygon(ring(5, r, up), c, glyph);                // pentagon
    case 5: return polygon(ring(6, r, 0), c, glyph);                 // hexagon
    case 6: {                                                        // star
      std::vector<Vec2> p;
      const auto outer = ring(5, r * 1.1f, up), inner = ring(5, r * 0.45f, up + q * 0.8);
      for (int i = 0; i < 5; ++i) p.push_back(outer[i]), p.push_back(inner[i]);
      return polygon(p, c, glyph);
    }
    default: {  // cross
      const float a = r, b = r * 0.35f;
      return polygon({{x - b, y - a}, {x + b, y - a}, {x + b, y - b}, {x + a, y - b},
                      {x + a, y + b}, {x + b, y + b}, {x + b, y + a}, {x - b, y + a},
                      {x - b, y + b}, {x - a, y + b}, {x - a, y - b}, {x - b, y - b}},
                     c, glyph);
    }
  }
}

Color palette_color(int i) {
  static constexpr Color kOkabeIto[] = {{230, 159, 0},  {86, 180, 233}, {0, 158, 115},
                                        {240, 228, 66}, {0, 114, 178},  {213, 94, 0},
                                        {204, 121, 167}, {140, 140, 140}};
  return kOkabeIto[((i % 8) + 8) % 8];
}

std::string to_ascii(const Scene& scene, int cols, int rows) {
  std::vector<std::string> raster(rows, std::string(cols, '.'));
  const float sx = scene.width() / cols, sy = scene.height() / rows;
  for (const Shape& s : scene.shapes) {
    if (!s.glyph || s.points.empty()) continue;
    // A cell takes the glyph of the last shape that covers the cell's centre.
    for (int r = 0; r < rows; ++r) {
      for (int c = 0; c < cols; ++c) {
        const float x = scene.min.x + (c + 0.5f) * sx;
        const float y = scene.y_up ? scene.max.y - (r + 0.5f) * sy : scene.min.y + (r + 0.5f) * sy;
        bool hit = false;
        switch (s.kind) {
          case Shape::Kind::kRect:
            hit = x >= std::min(s.points[0].x, s.points[1].x) &&
                  x < std::max(s.points[0].x, s.points[1].x) &&
                  y >= std::min(s.points[0].y, s.points[1].y) &&
                  y < std::max(s.points[0].y, s.points[1].y);
            break;
          case Shape::Kind::kCircle: {
            const float dx = x - s.points[0].x, dy = y - s.points[0].y;
            const float r2 = std::max(s.radius * s.radius, 0.25f * (sx * sx + sy * sy));
            hit = dx * dx + dy * dy <= r2;
            break;
          }
          case Shape::Kind::kPolygon: {  // even-odd rule; small polygons take their cell
            const auto& p = s.points;
            float x0 = p[0].x, x1 = p[0].x, y0 = p[0].y, y1 = p[0].y;
            for (const auto& v : p)
              x0 = std::min(x0, v.x), x1 = std::max(x1, v.x), y0 = std::min(y0, v.y),
              y1 = std::max(y1, v.y);
            if (x1 - x0 < sx && y1 - y0 < sy) {
              const float cx = (x0 + x1) / 2, cy = (y0 + y1) / 2;
              hit = std::abs(cx - x) <= sx / 2 && std::abs(cy - y) <= sy / 2;
              break;
            }
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
