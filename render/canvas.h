// An RGBA raster with the few primitives plots, scene pictures and rollout frames need: filled
// rectangles, circles and polygons, thick lines (optionally dashed), and text rendered with
// FreeType. Saved as PNG by SFML's image encoder; no window or OpenGL context is needed, so
// frames can be made on servers without a display.
#pragma once

#include <SFML/Graphics/Image.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "envs/core/scene.h"

namespace hc::render {

using envs::Color;

class Canvas {
 public:
  Canvas(int width, int height, Color background = {255, 255, 255});
  ~Canvas();

  int width() const { return width_; }
  int height() const { return height_; }

  void fill_rect(float x0, float y0, float x1, float y1, Color c);
  void fill_circle(float cx, float cy, float r, Color c);
  void fill_polygon(const std::vector<envs::Vec2>& points, Color c);
  // A line `width` pixels wide; dash > 0 draws dashes of that many pixels.
  void line(float x0, float y0, float x1, float y1, Color c, float width = 1.0f, float dash = 0.0f);
  // Text with its left end of the baseline at (x, y); `anchor` 0 left, 0.5 centre, 1 right.
  // Returns the text width in pixels.
  float text(const std::string& s, float x, float y, int size, Color c, float anchor = 0.0f,
             bool vertical = false);
  float text_width(const std::string& s, int size);

  // Writes a PNG; throws hc::Error naming the file if it cannot be written.
  void save_png(const std::string& path) const;
  sf::Image image() const;
  // RGBA bytes, row-major, width x height x 4.
  const std::vector<uint8_t>& pixels() const { return pixels_; }
  Color pixel(int x, int y) const;
  void clear(Color c);

 private:
  void blend(int x, int y, Color c, float alpha);
  struct Font;
  int width_, height_;
  std::vector<uint8_t> pixels_;
  std::unique_ptr<Font> font_;
};

// Draws a scene scaled to fit `canvas` (with a margin), caption underneath.
void draw_scene(const envs::Scene& scene, Canvas& canvas);
// Draws a scene's world (no caption) scaled and centred into the box at (left, top).
void draw_scene(const envs::Scene& scene, Canvas& canvas, float left, float top, float width,
                float height);

}  // namespace hc::render
