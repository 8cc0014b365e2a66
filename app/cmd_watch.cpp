// hypercomp watch / record: trained agents (or a family's expert) adapting to a task and acting
// in its environment -- live in a window, or written headless to a GIF or PNG frames.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <SFML/Graphics.hpp>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "app/commands.h"
#include "base/io.h"
#include "families/registry.h"
#include "render/gif.h"
#include "render/show.h"
#if HYPERCOMP_WITH_TORCH
#include "app/run_playback.h"
#endif

namespace hc::app {
namespace {

namespace fs = std::filesystem;

constexpr int kPaneWidth = 560, kHeight = 620;

struct ViewOptions {
  std::vector<std::string> what;  // a family, or one or more run directories
  std::string config, split = "train", task;
  uint64_t seed = 0;
  bool best = false;
};

void add_view_options(CLI::App* cmd, ViewOptions& o) {
  cmd->add_option("what", o.what,
                  "A registered family (its expert), or one or more run directories side by side")
      ->required();
  cmd->add_option("--config", o.config, "YAML file with a 'family' section (for a family)");
  cmd->add_option("--split", o.split, "Draw the task from the trained or the held-out combinations")
      ->check(CLI::IsMember({"train", "ood"}));
  cmd->add_option("--task", o.task, "Task index or description instead of drawing one");
  cmd->add_option("--seed", o.seed, "Seed of the task draw and of every episode")
      ->check(seed_check());
  cmd->add_flag("--best", o.best, "Runs: the checkpoint with the lowest validation loss");
}

// What a pane shows: a family's expert, or a trained run's adapted policy.
struct Source {
  std::string label;
  std::shared_ptr<const tasks::TaskFamily> family;
  const envs::EnvFamily* env_family = nullptr;
  std::unique_ptr<render::PlaybackPolicy> policy;  // none: the expert

  Source(const std::string& what, const std::string& config, bool best) : label(what) {
    const std::vector<std::string> names = families::family_names();
    if (!config.empty() || std::find(names.begin(), names.end(), what) != names.end()) {
      family = families::make_family(what, config);
    } else {
      if (!fs::exists(what))
        throw Error(fmt::format("'{}' is neither a registered family ({}) nor a run directory",
                                what, fmt::join(names, ", ")));
#if HYPERCOMP_WITH_TORCH
      auto run = std::make_unique<RunPlayback>(what, best);
      family = run->run().config.family;
      policy = std::move(run);
#else
      run_with_torch();  // a trained policy needs LibTorch
#endif
    }
    env_family = &envs::require_env_family(*family, "watching or recording");
  }
  render::Show make(const render::ShowOptions& o) const {
    return render::make_show(*env_family, label, o, policy.get());
  }
};

// The sources side by side: they must show the same tasks.
std::vector<std::unique_ptr<Source>> open_sources(const ViewOptions& o) {
  std::vector<std::unique_ptr<Source>> sources;
  for (const auto& w : o.what) sources.push_back(std::make_unique<Source>(w, o.config, o.best));
  for (size_t i = 1; i < sources.size(); ++i)
    if (to_yaml(sources[i]->family->config()) != to_yaml(sources[0]->family->config()))
      throw ConfigError(fmt::format(
          "'{}' and '{}' are runs of different family configurations; side by side needs the "
          "same tasks",
          o.what[0], o.what[i]));
  return sources;
}

struct Shows {
  std::vector<render::Show> shows;
  std::vector<render::Cursor> cursors;
  std::vector<const render::Show*> pointers() const {
    std::vector<const render::Show*> p;
    for (const auto& s : shows) p.push_back(&s);
    return p;
  }
  bool at_end() const {
    for (size_t i = 0; i < shows.size(); ++i)
      if (!render::at_end(shows[i], cursors[i])) return false;
    return true;
  }
  void advance(int hold) {
    for (size_t i = 0; i < shows.size(); ++i) render::advance(shows[i], cursors[i], hold);
  }
  void rewind() { cursors.assign(shows.size(), {}); }
  float fps() const { return shows.empty() ? 8.0f : shows[0].fps; }
};

Shows make_shows(const std::vector<std::unique_ptr<Source>>& sources,
                 const render::ShowOptions& options) {
  Shows s;
  for (const auto& src : sources) s.shows.push_back(src->make(options));
  s.rewind();
  return s;
}

render::ShowOptions show_options(const ViewOptions& o) {
  render::ShowOptions so;
  so.held_out = o.split == "ood";
  so.task = o.task;
  so.seed = o.seed;
  return so;
}

}  // namespace

Command add_record(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "record", "Write the frames `watch` shows to an animated GIF or to PNGs, with no display");
  auto o = std::make_shared<ViewOptions>();
  auto out = std::make_shared<std::string>();
  auto frames = std::make_shared<int>(0);
  add_view_options(cmd, *o);
  cmd->add_option("--out", *out, "X.gif for an animation, or DIR/ for numbered PNGs")->required();
  cmd->add_option("--frames", *frames, "Frames to write (default: the whole playback once)")
      ->check(CLI::Range(1, 100000));
  return [o, out, frames]() {
    const bool gif = out->size() > 4 && out->substr(out->size() - 4) == ".gif";
    const bool dir = !gif && (out->back() == '/' || fs::is_directory(*out));
    if (!gif && !dir)
      throw ConfigError(
          fmt::format("--out '{}': expected a file name ending in .gif, or a "
                      "directory (ending in /) for PNG frames",
                      *out));
    // Frames go into a directory of their own: a new or empty one, or one holding only the
    // frames of an earlier record (which they replace), never one with other files (such as /).
    if (dir && fs::is_directory(*out))
      for (const auto& e : fs::directory_iterator(*out)) {
        const std::string name = e.path().filename().string();
        if (name.rfind("frame_", 0) != 0 || e.path().extension() != ".png")
          throw ConfigError(
              fmt::format("--out '{}': the directory holds other files ('{}'); give a new or empty "
                          "directory for the PNG frames",
                          *out, name));
      }
    // Writable before the runs are loaded and adapted.
    const std::string target_dir = dir ? *out : fs::path(*out).parent_path().string();
    if (!target_dir.empty()) {
      fs::create_directories(target_dir);
      check_writable(target_dir);
    }
    const auto t0 = std::chrono::steady_clock::now();
    const auto sources = open_sources(*o);
    Shows s = make_shows(sources, show_options(*o));
    const int width = kPaneWidth * static_cast<int>(s.shows.size());
    const int hold = static_cast<int>(std::lround(s.fps()));  // about a second between phases
    render::Canvas canvas(width, kHeight);
    std::unique_ptr<render::GifWriter> writer;
    if (gif)
      writer = std::make_unique<render::GifWriter>(
          *out, width, kHeight, std::max(2, static_cast<int>(std::lround(100.0 / s.fps()))));
    const auto t1 = std::chrono::steady_clock::now();
    int written = 0;
    while (true) {
      render::draw_shows(
          canvas, s.pointers(), s.cursors,
          fmt::format("hypercomp record | seed {} | frame {}", o->seed, written + 1));
      if (gif)
        writer->add(canvas);
      else
        canvas.save_png((fs::path(*out) / fmt::format("frame_{:05}.png", written)).string());
      ++written;
      if (*frames > 0 ? written == *frames : s.at_end()) break;
      if (s.at_end())
        s.rewind();  // --frames longer than the playback: start it again
      else
        s.advance(hold);
    }
    if (gif) writer->finish();
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double drawing =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
    fmt::print(stderr,
               "wrote {} frames ({}x{}) to {} in {:.2f} s ({:.0f} frames/s drawing and "
               "encoding; {:.2f} s loading and adapting)\n",
               written, width, kHeight, *out, total, written / std::max(drawing, 1e-9),
               total - drawing);
    return 0;
  };
}

Command add_watch(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "watch", "Watch trained agents (or a family's expert) adapt to a task and act, in a window");
  auto o = std::make_shared<ViewOptions>();
  auto frames = std::make_shared<int>(0);
  add_view_options(cmd, *o);
  cmd->add_option("--frames", *frames,
                  "Close after this many frames (for scripts and tests; default: until closed)")
      ->check(CLI::Range(1, 1000000));
  return [o, frames]() {
    const char* display = std::getenv("DISPLAY");
    if (!display || !*display)
      throw Error(
          "watch needs a display, and DISPLAY is not set: write the frames with `hypercomp "
          "record ... --out play.gif` instead, or run under a virtual display with `xvfb-run -a "
          "hypercomp watch ...`");
    const auto sources = open_sources(*o);
    render::ShowOptions options = show_options(*o);
    Shows s = make_shows(sources, options);
    unsigned width = kPaneWidth * static_cast<unsigned>(s.shows.size()), height = kHeight;
    sf::RenderWindow window(sf::VideoMode(width, height), "hypercomp watch");
    window.setFramerateLimit(60);
    auto canvas = std::make_unique<render::Canvas>(width, height);
    sf::Texture texture;
    texture.create(width, height);
    bool paused = false, step_once = false;
    double speed = 1.0, since = 0, end_hold = 0;
    int shown = 0;
    sf::Clock clock;
    const auto rebuild = [&] {
      s = make_shows(sources, options);
      since = end_hold = 0;
    };
    while (window.isOpen()) {
      for (sf::Event e; window.pollEvent(e);) {
        if (e.type == sf::Event::Closed) window.close();
        if (e.type == sf::Event::Resized) {
          width = std::max(200u, e.size.width), height = std::max(200u, e.size.height);
          window.setView(
              sf::View(sf::FloatRect(0, 0, static_cast<float>(width), static_cast<float>(height))));
          canvas = std::make_unique<render::Canvas>(width, height);
          texture.create(width, height);
        }
        if (e.type != sf::Event::KeyPressed) continue;
        switch (e.key.code) {
          case sf::Keyboard::Q:
          case sf::Keyboard::Escape:
            window.close();
            break;
          case sf::Keyboard::Space:
            paused = !paused;
            break;
          case sf::Keyboard::Right:
            step_once = true;
            break;
          case sf::Keyboard::N:
            ++options.seed, options.task.clear(), rebuild();
            break;
          case sf::Keyboard::O:
            options.held_out = !options.held_out, options.task.clear(), rebuild();
            break;
          case sf::Keyboard::E:
            options.expert_acts = !options.expert_acts, rebuild();
            break;
          case sf::Keyboard::Add:
          case sf::Keyboard::Equal:
            speed = std::min(16.0, speed * 2);
            break;
          case sf::Keyboard::Subtract:
          case sf::Keyboard::Hyphen:
            speed = std::max(1.0 / 16, speed / 2);
            break;
          case sf::Keyboard::S: {
            const std::string file = fmt::format(
                "hypercomp-{:%Y%m%d-%H%M%S}.png",
                fmt::localtime(
                    std::chrono::system_clock::to_time_t(std::chrono::system_clock::now())));
            canvas->save_png(file);
            fmt::print(stderr, "screenshot: {}\n", file);
            break;
          }
          default:
            break;
        }
      }
      if (!window.isOpen()) break;
      const double dt = clock.restart().asSeconds();
      const double period = 1.0 / (s.fps() * speed);
      if (!paused) since += dt;
      if (s.at_end()) {  // hold the last frame, then play the task again
        end_hold += paused ? 0 : dt;
        if (end_hold > 1.5) s.rewind(), end_hold = 0;
      } else if (step_once || since >= period) {
        s.advance(static_cast<int>(std::lround(s.fps() * speed * 0.6)));
        since = 0;
      }
      step_once = false;
      render::draw_shows(
          *canvas, s.pointers(), s.cursors,
          fmt::format("{} | space pause | right step | n next task | o {} | e {} | +/- speed "
                      "(x{:g}) | s screenshot | q quit",
                      paused ? "PAUSED" : "playing",
                      options.held_out ? "show trained" : "show held-out",
                      options.expert_acts ? "policy acts" : "expert acts", speed));
      texture.update(canvas->pixels().data());
      window.clear(sf::Color::White);
      window.draw(sf::Sprite(texture));
      window.display();
      if (*frames > 0 && ++shown >= *frames) window.close();
    }
    return 0;
  };
}

}  // namespace hc::app
