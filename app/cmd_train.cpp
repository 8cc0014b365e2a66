// hypercomp train / eval: training runs.
#include <fmt/format.h>

#include <cmath>

#include "app/commands.h"
#include "trainer/run.h"

namespace hc::app {

Command add_train(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "train", "Train a policy: hypercomp train CONFIG.yaml [section.key=value ...]");
  auto o = std::make_shared<trainer::TrainOptions>();
  auto args = std::make_shared<std::vector<std::string>>();
  cmd->add_option("config_and_overrides", *args,
                  "Config file, then any number of section.key=value overrides");
  cmd->add_option("--run-dir", o->run_dir, "Run directory (default: runs/<config>-<time>)");
  cmd->add_option("--resume", o->resume, "Continue the run in this directory exactly");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress display");
  auto log_every = std::make_shared<std::string>();
  cmd->add_option("--log-every", *log_every,
                  "Train records every N steps (the same as train.log_every=N; stored in the run)");
  return [o, args, log_every]() {
    if (o->resume.empty()) {
      if (args->empty()) throw ConfigError("train: a config file is required (or --resume DIR)");
      o->config = args->front();
      o->overrides.assign(args->begin() + 1, args->end());
    } else {
      o->overrides = *args;
    }
    // An option that changes the outputs is a config key, so a resumed run repeats it.
    if (!log_every->empty()) o->overrides.push_back("train.log_every=" + *log_every);
    trainer::train(*o);
    return 0;
  };
}

Command add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand("eval", "Re-evaluate a run's checkpoint");
  auto o = std::make_shared<trainer::EvalOptions>();
  cmd->add_option("run", o->run_dir, "Run directory")->required();
  cmd->add_flag("--best", o->best, "Evaluate best.pt (lowest valid loss) instead of the latest");
  return [o]() {
    const trainer::Metrics m = trainer::evaluate_run(*o);
    for (const auto& [k, v] : m)
      fmt::print("{:<36} {}\n", k, std::isfinite(v) ? fmt::format("{:.6g}", v) : "-");
    return 0;
  };
}

}  // namespace hc::app
