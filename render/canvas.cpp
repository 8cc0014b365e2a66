#include "render/canvas.h"

#include <fmt/format.h>
#include <ft2build.h>
#include FT_FREETYPE_H

#include <SFML/System/Utf.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "base/error.h"
#include "base/io.h"

namespace hc::render {
namespace {

// The code points of UTF-8 text (labels carry symbols such as "R²"); a malformed byte becomes
// U+FFFD rather than a wrong glyph.
std::u32string code_points(const std::string& s) {
  std::u32string out;
  for (auto it = s.begin(); it != s.end();) {
    sf::Uint32 cp = 0;
    it = sf::Utf8::decode(it, s.end(), cp, 0xFFFD);
    out.push_back(static_cast<char32_t>(cp));
  }
  return out;
}

constexpr const char* kFontPaths[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
};

}  // namespace

struct Canvas::Font {
  FT_Library library = nullptr;
  FT_Face face = nullptr;
  Font() {
    if (FT_Init_FreeType(&library) != 0) throw Error("FreeType failed to initialise");
    for (const char* p : kFontPaths)
      if (std::filesystem::exists(p) && FT_New_Face(library, p, 0, &face) == 0) return;
    FT_Done_FreeType(library);
    throw Error(
        fmt::format("no font found for plot text (looked for {}); install the Debian "
                    "package fonts-dejavu-core",
                    kFontPaths[0]));
  }
  ~Font() {
    if (face) FT_Done_Face(face);
    FT_Done_FreeType(library);
  }
};

Canvas::Canvas(int width, int height, Color bg)
    : width_(width), height_(height), pixels_(static_cast<size_t>(width) * height * 4) {
  clear(bg);
}

void Canvas::clear(Color c) {
  for (size_t i = 0; i < pixels_.size(); i += 4)
    pixels_[i] = c.r, pixels_[i + 1] = c.g, pixels_[i + 2] = c.b, pixels_[i + 3] = c.a;
}

Color Canvas::pixel(int x, int y) const {
  const uint8_t* p = pixels_.data() + (static_cast<size_t>(y) * width_ + x) * 4;
  return {p[0], p[1], p[2], p[3]};
}

sf::Image Canvas::image() const {
  sf::Image img;
  img.create(width_, height_, pixels_.data());
  return img;
}

Canvas::~Canvas() = default;

void Canvas::blend(int x, int y, Color c, float alpha) {
  if (x < 0 || y < 0 || x >= width_ || y >= height_ || alpha <= 0.0f) return;
  alpha = std::min(alpha, 1.0f) * (c.a / 255.0f);
  uint8_t* p = pixels_.data() + (static_cast<size_t>(y) * width_ + x) * 4;
  if (alpha >= 1.0f) {
    p[0] = c.r, p[1] = c.g, p[2] = c.b, p[3] = 255;
    return;
  }
  const auto mix = [alpha](uint8_t a, uint8_t b) {
    return static_cast<uint8_t>(std::lround(a * (1.0f - alpha) + b * alpha));
  };
  p[0] = mix(p[0], c.r), p[1] = mix(p[1], c.g), p[2] = mix(p[2], c.b), p[3] = 255;
}

void Canvas::fill_rect(float x0, float y0, float x1, float y1, Color c) {
  const int xa = std::max(0, static_cast<int>(std::floor(std::min(x0, x1))));
  const int xb = std::min(width_, static_cast<int>(std::ceil(std::max(x0, x1))));
  const int ya = std::max(0, static_cast<int>(std::floor(std::min(y0, y1))));
  const int yb = std::min(height_, static_cast<int>(std::ceil(std::max(y0, y1))));
  for (int y = ya; y < yb; ++y)
    for (int x = xa; x < xb; ++x) blend(x, y, c, 1.0f);
}

void Canvas::fill_circle(float cx, float cy, float r, Color c) {
  for (int y = static_cast<int>(cy - r - 1); y <= static_cast<int>(cy + r + 1); ++y)
    for (int x = static_cast<int>(cx - r - 1); x <= static_cast<int>(cx + r + 1); ++x) {
      const float d = std::hypot(x + 0.5f - cx, y + 0.5f - cy);
      blend(x, y, c, std::clamp(r - d + 0.5f, 0.0f, 1.0f));  // one-pixel anti-aliased edge
    }
}

void Canvas::fill_polygon(const std::vector<envs::Vec2>& p, Color c) {
  if (p.size() < 3) return;
  float y0 = p[0].y, y1 = p[0].y;
  for (const auto& v : p) y0 = std::min(y0, v.y), y1 = std::max(y1, v.y);
  for (int y = std::max(0, static_cast<int>(y0)); y <= std::min(height_ - 1, static_cast<int>(y1));
       ++y) {
    const float sy = y + 0.5f;
    std::vector<float> xs;
    for (size_t i = 0, j = p.size() - 1; i < p.size(); j = i++)
      if ((p[i].y > sy) != (p[j].y > sy))
        xs.push_back(p[i].x + (sy - p[i].y) * (p[j].x - p[i].x) / (p[j].y - p[i].y));
    std::sort(xs.begin(), xs.end());
    for (size_t k = 0; k + 1 < xs.size(); k += 2)
      fill_rect(xs[k], static_cast<float>(y), xs[k + 1], y + 1.0f, c);
  }
}

void Canvas::line(float x0, float y0, float x1, float y1, Color c, float width, float dash) {
  // Distance-to-segment coverage: simple and anti-aliased, fine for plot sizes.
  const float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, len = std::sqrt(len2);
  const float half = width / 2.0f;
  const int xa = static_cast<int>(std::floor(std::min(x0, x1) - half - 1));
  const int xb = static_cast<int>(std::ceil(std::max(x0, x1) + half + 1));
  const int ya = static_cast<int>(std::floor(std::min(y0, y1) - half - 1));
  const int yb = static_cast<int>(std::ceil(std::max(y0, y1) + half + 1));
  for (int y = ya; y <= yb; ++y)
    for (int x = xa; x <= xb; ++x) {
      const float px = x + 0.5f - x0, py = y + 0.5f - y0;
      const float t = len2 > 0 ? std::clamp((px * dx + py * dy) / len2, 0.0f, 1.0f) : 0.0f;
      if (dash > 0 && std::fmod(t * len, 2 * dash) > dash) continue;
      const float d = std::hypot(px - t * dx, py - t * dy);
      blend(x, y, c, std::clamp(half - d + 0.5f, 0.0f, 1.0f));
    }
}

float Canvas::text_width(const std::string& s, int size) {
  if (!font_) font_ = std::make_unique<Font>();
  FT_Set_Pixel_Sizes(font_->face, 0, size);
  float w = 0;
  for (char32_t ch : code_points(s))
    if (FT_Load_Char(font_->face, ch, FT_LOAD_DEFAULT) == 0)
      w += font_->face->glyph->advance.x / 64.0f;
  return w;
}

float Canvas::text(const std::string& s, float x, float y, int size, Color c, float anchor,
                   bool vertical) {
  const float w = text_width(s, size);
  float pen = -anchor * w;
  for (char32_t ch : code_points(s)) {
    if (FT_Load_Char(font_->face, ch, FT_LOAD_RENDER) != 0) continue;
    const FT_GlyphSlot g = font_->face->glyph;
    const FT_Bitmap& bm = g->bitmap;
    for (unsigned r = 0; r < bm.rows; ++r)
      for (unsigned col = 0; col < bm.width; ++col) {
        const float a = bm.buffer[r * bm.pitch + col] / 255.0f;
        const float gx = pen + g->bitmap_left + col, gy = static_cast<float>(r) - g->bitmap_top;
        if (vertical)  // rotated 90 degrees counter-clockwise, reading bottom to top
          blend(static_cast<int>(x + gy), static_cast<int>(y - gx), c, a);
        else
          blend(static_cast<int>(x + gx), static_cast<int>(y + gy), c, a);
      }
    pen += g->advance.x / 64.0f;
  }
  return w;
}

void Canvas::save_png(const std::string& path) const {
  // Encode to a temporary name, then rename: a reader never sees half a picture.
  const std::string tmp = path + ".tmp.png";
  if (!image().saveToFile(tmp)) throw Error(fmt::format("cannot write image '{}'", path));
  atomic_write(path, read_file(tmp));
  std::filesystem::remove(tmp);
}

void draw_scene(const envs::Scene& scene, Canvas& canvas) {
  const float margin = 8, caption = scene.caption.empty() ? 0.0f : 22.0f;
  draw_scene(scene, canvas, margin, margin, canvas.width() - 2 * margin,
             canvas.height() - 2 * margin - caption);
  if (caption > 0) canvas.text(scene.caption, margin, canvas.height() - 7.0f, 13, {40, 40, 40});
}

void draw_scene(const envs::Scene& scene, Canvas& canvas, float left, float top, float width,
                float height) {
  const float w = std::max(scene.width(), 1e-6f), h = std::max(scene.height(), 1e-6f);
  const float scale = std::min(width / w, height / h);
  // Centre the world in the box; flip y for y-up worlds.
  const float ox = left + (width - w * scale) / 2, oy = top + (height - h * scale) / 2;
  const auto X = [&](float x) { return ox + (x - scene.min.x) * scale; };
  const auto Y = [&](float y) {
    return scene.y_up ? oy + (scene.max.y - y) * scale : oy + (y - scene.min.y) * scale;
  };
  canvas.fill_rect(X(scene.min.x), Y(scene.min.y), X(scene.max.x), Y(scene.max.y), {235, 235, 230});
  for (const envs::Shape& s : scene.shapes) {
    if (s.points.empty()) continue;
    envs::Vec2 centre = s.points[0];
    switch (s.kind) {
      case envs::Shape::Kind::kRect:
        canvas.fill_rect(X(s.points[0].x), Y(s.points[0].y), X(s.points[1].x), Y(s.points[1].y),
                         s.color);
        centre = {(s.points[0].x + s.points[1].x) / 2, (s.points[0].y + s.points[1].y) / 2};
        break;
      case envs::Shape::Kind::kCircle:
        canvas.fill_circle(X(s.points[0].x), Y(s.points[0].y), s.radius * scale, s.color);
        break;
      case envs::Shape::Kind::kPolygon: {
        std::vector<envs::Vec2> p;
        centre = {0, 0};
        for (const auto& v : s.points) {
          p.push_back({X(v.x), Y(v.y)});
          centre.x += v.x / s.points.size();
          centre.y += v.y / s.points.size();
        }
        canvas.fill_polygon(p, s.color);
        break;
      }
      case envs::Shape::Kind::kLine:
        for (size_t i = 0; i + 1 < s.points.size(); ++i)
          canvas.line(X(s.points[i].x), Y(s.points[i].y), X(s.points[i + 1].x),
                      Y(s.points[i + 1].y), s.color, std::max(1.0f, s.radius * scale));
        break;
    }
    if (!s.label.empty()) {
      const int size = std::clamp(static_cast<int>(scale * 0.35f), 9, 16);
      canvas.text(s.label, X(centre.x), Y(centre.y) + size * 0.35f, size, {20, 20, 20}, 0.5f);
    }
  }
}

}  // namespace hc::render
