// Pictures: text is UTF-8, plots are written as PNG with their curves and a legend wide enough
// for long labels, scenes draw every shape.
#include <gtest/gtest.h>
#include <unistd.h>

#include <SFML/Graphics/Image.hpp>

#include <filesystem>

#include "envs/core/env_family.h"
#include "envs/grid/goals.h"
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

// The plot as saved to PNG and read back.
sf::Image saved(const Plot& p) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("hypercomp_plot_test_" + std::to_string(::getpid()) + ".png");
  save_plot(p, path.string());
  sf::Image img;
  EXPECT_TRUE(img.loadFromFile(path.string())) << path;
  std::filesystem::remove(path);
  return img;
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
  const sf::Image img = saved(p);
  EXPECT_EQ(img.getSize().x, 960u);
  EXPECT_EQ(img.getSize().y, 600u);
  EXPECT_GT(non_background(img, sf::Color::White), 2000);
  // The long label fits: nothing is drawn in the last few columns.
  for (unsigned y = 0; y < img.getSize().y; ++y)
    for (unsigned x = img.getSize().x - 4; x < img.getSize().x; ++x)
      EXPECT_EQ(img.getPixel(x, y), sf::Color::White) << x << "," << y;
}

TEST(Plot, LongTitleStaysInsideTheImage) {
  Plot p;
  // As compare's budget plots: a long title over a plot area narrowed by a wide legend.
  p.title =
      "hyperteacher_budget: OOD acc (solid) and ID acc (dashed) against the training "
      "budget; bands: ± one standard deviation";
  Series s;
  s.label = "a_rather_long_label_for_a_run_with_a_support_override OOD";
  s.color = palette(0);
  for (int k = 1; k <= 4; ++k) s.x.push_back(k), s.y.push_back(0.1 * k);
  p.series.push_back(s);
  const sf::Image img = saved(p);
  ASSERT_EQ(img.getSize().x, 960u);
  // The title band (above the plot area) has ink, and none in its first and last columns.
  int ink = 0;
  for (unsigned y = 0; y < 40; ++y)
    for (unsigned x = 0; x < img.getSize().x; ++x) {
      const bool edge = x < 4 || x >= img.getSize().x - 4;
      if (edge) EXPECT_EQ(img.getPixel(x, y), sf::Color::White) << x << "," << y;
      ink += img.getPixel(x, y) != sf::Color::White;
    }
  EXPECT_GT(ink, 500);
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

bool near(Color a, Color b, int tolerance = 8) {
  return std::abs(a.r - b.r) <= tolerance && std::abs(a.g - b.g) <= tolerance &&
         std::abs(a.b - b.b) <= tolerance;
}

::testing::AssertionResult colour_at(const Canvas& c, float x, float y, Color want) {
  const Color got = c.pixel(static_cast<int>(x), static_cast<int>(y));
  if (near(got, want)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "pixel (" << x << ", " << y << ") is (" << int(got.r) << ", " << int(got.g) << ", "
         << int(got.b) << "), expected (" << int(want.r) << ", " << int(want.g) << ", "
         << int(want.b) << ")";
}

// A known gridworld state: walls, the goal object and the agent are where the state says, in
// their colours (the agent: a white disc with a dark centre).
TEST(Scene, GridCellsAreDrawnWhereTheStateSaysInTheirColours) {
  const auto family = families::make_family("compositional_goals");
  const auto& goals = dynamic_cast<const envs::grid::GoalsFamily&>(*family);
  auto env = goals.make_env();
  env->reset(5, goals.task_space().task(17));
  const auto& e = dynamic_cast<const envs::grid::GoalsEnv&>(*env);
  const int n = goals.world().config.grid_size;
  Canvas c(n * 30, n * 30);
  draw_scene(env->scene(), c, 0, 0, n * 30.0f, n * 30.0f);
  const auto centre = [](int cell_coord) { return cell_coord * 30 + 15.0f; };
  int walls = 0;
  for (int cell = 0; cell < n * n; ++cell)
    if (e.maze().wall(cell)) {
      EXPECT_TRUE(colour_at(c, centre(cell % n), centre(cell / n), {70, 70, 80})) << cell;
      ++walls;
    }
  EXPECT_GT(walls, 10);
  const int agent = e.agent(), goal = e.goal_cell();
  EXPECT_TRUE(colour_at(c, centre(agent % n), centre(agent / n), {20, 20, 20}));
  EXPECT_TRUE(colour_at(c, centre(agent % n) + 5, centre(agent / n), {250, 250, 250}));
  const int type = env->describe()["goal_object"].get<int>();
  EXPECT_TRUE(colour_at(c, centre(goal % n), centre(goal / n) + 3, envs::palette_color(type)));
}

// A physics-like world (y up): the mass and the goals are drawn at their coordinates.
TEST(Scene, ContinuousWorldsAreDrawnYUp) {
  const auto family = families::make_family("point_reach");
  const auto& f = dynamic_cast<const envs::EnvFamily&>(*family);
  auto env = f.make_env();
  env->reset(2, f.task_space().task(0));
  const auto d = env->describe();
  Canvas c(400, 400);
  draw_scene(env->scene(), c, 0, 0, 400, 400);
  const auto px = [](float x) { return (x + 1) * 200; };
  const auto py = [](float y) { return (1 - y) * 200; };  // y up
  const float x = d["position"][0].get<float>(), y = d["position"][1].get<float>();
  EXPECT_TRUE(colour_at(c, px(x), py(y), {20, 20, 20}));
  EXPECT_TRUE(colour_at(c, px(x) + 7, py(y), {250, 250, 250}));
  for (int g = 0; g < 4; ++g) {
    const float gx = d["goals"][g][0].get<float>(), gy = d["goals"][g][1].get<float>();
    if (std::hypot(gx - x, gy - y) < 0.2f) continue;  // under the mass
    // Left of centre: the goal's index is written at its centre.
    EXPECT_TRUE(colour_at(c, px(gx) - 7, py(gy), envs::palette_color(g))) << "goal " << g;
  }
}

}  // namespace
}  // namespace hc::render
