// What an environment looks like, as drawing primitives. Environments describe; render/ (SFML)
// and the ASCII printer here turn scenes into pixels or characters, so envs/ never links a
// windowing library.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hc::envs {

struct Color {
  uint8_t r = 0, g = 0, b = 0, a = 255;
};

struct Vec2 {
  float x = 0, y = 0;
};

// One filled primitive in world units; y grows downwards, as in a grid's row index.
struct Shape {
  enum class Kind { kRect, kCircle, kPolygon, kLine };
  Kind kind = Kind::kRect;
  std::vector<Vec2> points;  // rect: {min, max}; circle: {center}; polygon / line: vertices
  float radius = 0;          // circle radius, or line width
  Color color;
  char glyph = 0;            // character for text output; 0 = not drawn as text
};

struct Scene {
  float width = 0, height = 0;  // world extent; grid scenes use one unit per cell
  std::vector<Shape> shapes;    // painter's order
  std::string caption;          // one line shown under the picture

  void rect(float x0, float y0, float x1, float y1, Color c, char glyph = 0) {
    shapes.push_back({Shape::Kind::kRect, {{x0, y0}, {x1, y1}}, 0, c, glyph});
  }
  void circle(float x, float y, float r, Color c, char glyph = 0) {
    shapes.push_back({Shape::Kind::kCircle, {{x, y}}, r, c, glyph});
  }
};

// Draws a scene as text, one character per cell of a cols x rows raster ('.' for empty).
std::string to_ascii(const Scene& scene, int cols, int rows);

}  // namespace hc::envs
