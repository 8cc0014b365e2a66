// Pictures: text is UTF-8, plots are written as PNG with their curves and a legend wide enough
// for long labels, scenes draw every shape.
#include <gtest/gtest.h>
#include <unistd.h>

#include <SFML/Graphics/Image.hpp>

#include <filesystem>

#include "envs/core/env_family.h"
#include "families/registry.h"
#include "render/canvas.h"
#include "render/plot.h"

namespace hc::render {
namespace {

int non_background(const sf::Image& img, sf::Color background) {
  int n = 0;
  for (unsigned y = 0; y < img.getSize().y; ++y)
    for (unsigned x = 0; x < img.getSize().x; ++x) n += img.getPixel(x, y) != background;
  return n;
}

TEST(Canvas, TextIsUtf8) {
  Canvas c(100, 40);
  // "²" is one narrow glyph; read byte by byte it would be two ("Â²"), wider than an "A".
  EXPECT_LT(c.text_width("²", 12), c.text_width("A", 12));
  EXPECT_GT(c.text_width("R²", 12), c.text_width("R", 12));
  // A malformed byte is one replacement glyph, not a crash.
  EXPECT_GT(c.text_width("R\xff", 12), c.text_width("R", 12));
}

TEST(Plot, WritesCurvesAndLegend) {
  Plot p;
  p.title = "identification R²";
  for (int i = 0; i < 2; ++i) {
    Series s;
    s.label = i ? "a_rather_long_label_for_a_run_with_a_support_override ID" : "short";
    s.color = palette(i);
    s.dashed = i == 1;
    for (int k = 0; k <= 10; ++k) s.x.push_back(k), s.y.push_back(i + 0.1 * k);
    p.series.push_back(s);
  }
  const auto path = std::filesystem::temp_directory_path() /
                    ("hypercomp_plot_test_" + std::to_string(::getpid()) + ".png");
  save_plot(p, path.string());
  sf::Image img;
  ASSERT_TRUE(img.loadFromFile(path.string()));
  EXPECT_EQ(img.getSize().x, 960u);
  EXPECT_EQ(img.getSize().y, 600u);
  EXPECT_GT(non_background(img, sf::Color::White), 2000);
  // The long label fits: nothing is drawn in the last few columns.
  for (unsigned y = 0; y < img.getSize().y; ++y)
    for (unsigned x = img.getSize().x - 4; x < img.getSize().x; ++x)
      EXPECT_EQ(img.getPixel(x, y), sf::Color::White) << x << "," << y;
  std::filesystem::remove(path);
}

TEST(Scene, EveryFamilyWithAnEnvironmentDraws) {
  for (const auto& info : families::registry()) {
    const auto family = info.make(YAML::Load("{name: " + info.name + "}"), "<test>");
    const auto* env_family = envs::as_env_family(*family);
    if (!env_family) continue;
    auto env = env_family->make_env();
    env->reset(3, family->task_space().task(0));
    Canvas c(320, 320);
    draw_scene(env->scene(), c);
    EXPECT_GT(non_background(c.image(), sf::Color::White), 1000) << info.name;
  }
}

}  // namespace
}  // namespace hc::render
