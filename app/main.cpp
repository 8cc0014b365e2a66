// hypercomp: compositional-generalization environments and hypernetwork meta-learning.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <vector>

#include "app/commands.h"
#include "base/error.h"

int main(int argc, char** argv) {
  CLI::App app{
      "hypercomp: environments whose tasks combine hidden modules, and a meta-learning trainer "
      "for hypernetwork policies that recombine them."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hypercomp " HYPERCOMP_VERSION);
  std::vector<std::pair<CLI::App*, hc::app::Command>> commands;
  const auto add = [&](hc::app::Command (*fn)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    hc::app::Command run = fn(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  };
  add(hc::app::add_envs);
  add(hc::app::add_demo);
  add(hc::app::add_check);
  add(hc::app::add_train);
  add(hc::app::add_launch);
  add(hc::app::add_eval);
  add(hc::app::add_compare);
#ifdef HYPERCOMP_HAVE_RENDER
  add(hc::app::add_watch);
  add(hc::app::add_record);
#endif
  add(hc::app::add_probe);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const hc::ConfigError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const hc::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
