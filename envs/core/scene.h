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

// One filled primitive in world units.
struct Shape {
  enum class Kind { kRect, kCircle, kPolygon, kLine };
  Kind kind = Kind::kRect;
  std::vector<Vec2> points;  // rect: {min, max}; circle: {center}; polygon / line: vertices
  float radius = 0;          // circle radius, or line width
  Color color;
  char glyph = 0;            // character for text output; 0 = not drawn as text
  std::string label;         // short text drawn at the shape's centre by renderers ("" = none)
};

// A picture of one state: shapes in world units inside the extent [min, max], drawn in order.
struct Scene {
  Vec2 min{0, 0}, max{1, 1};  // world extent
  bool y_up = false;          // y grows upwards (physics); else downwards (a grid's row index)
  float fps = 8;              // viewers: steps per second at normal speed
  std::vector<Shape> shapes;  // painter's order
  std::string caption;        // one line shown under the picture

  // A y-down scene of cols x rows unit cells, as grids use.
  static Scene grid(int cols, int rows);
  float width() const { return max.x - min.x; }
  float height() const { return max.y - min.y; }

  void rect(float x0, float y0, float x1, float y1, Color c, char glyph = 0);
  void circle(float x, float y, float r, Color c, char glyph = 0);
  void polygon(std::vector<Vec2> points, Color c, char glyph = 0);
  void line(std::vector<Vec2> points, float width, Color c);
  // A filled marker of one of kMarkers outlines (circle, square, triangle, diamond, pentagon,
  // hexagon, star, cross) inscribed in a circle of radius r: kinds told apart by shape as well
  // as colour.
  static constexpr int kMarkers = 8;
  void marker(int kind, float x, float y, float r, Color c, char glyph = 0);
};

// A qualitative colour per index, distinguishable for common colour-vision deficiencies
// (Okabe-Ito), repeating after eight.
Color palette_color(int i);

// Draws a scene as text, one character per cell of a cols x rows raster ('.' for empty).
std::string to_ascii(const Scene& scene, int cols, int rows);

}  // namespace hc::envs
