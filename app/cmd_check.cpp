// hypercomp check: the conformance checks on one family and configuration.
#include <fmt/format.h>

#include "app/commands.h"
#include "families/check.h"
#include "families/registry.h"

namespace hc::app {

Command add_check(CLI::App& app) {
  auto* cmd =
      app.add_subcommand("check",
                         "Run the conformance checks (determinism, specs, invalid input, expert "
                         "optimality, reuse after reset, observation sufficiency, splits, "
                         "datasets) on a family");
  struct Options {
    std::string family, config;
    tasks::CheckOptions check;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("family", o->family, "Registered family name")->required();
  cmd->add_option("--config", o->config, "YAML file with a 'family' section instead of defaults");
  cmd->add_option("--tasks", o->check.tasks, "Tasks sampled per check")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--seeds", o->check.seeds, "Episode seeds per task")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--seed", o->check.seed, "Seed of the sampling")
      ->capture_default_str()
      ->check(seed_check());
  return [o]() {
    const auto family = families::make_family(o->family, o->config);
    const tasks::CheckReport r = families::check_family(*family, o->check);
    fmt::print("{}: {}\n", family->name(), r.summary());
    return r.ok() ? 0 : 1;
  };
}

}  // namespace hc::app
