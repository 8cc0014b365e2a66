// hypercomp train / eval: training runs.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>

#include "app/commands.h"
#include "trainer/config.h"
#include "trainer/run.h"

namespace hc::app {

namespace fs = std::filesystem;

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
  auto print_config = std::make_shared<bool>(false);
  cmd->add_flag("--print-config", *print_config,
                "Print the resolved configuration (every key, defaults included) and exit");
  auto log_every = std::make_shared<std::string>();
  cmd->add_option("--log-every", *log_every,
                  "Train records every N steps (the same as train.log_every=N; stored in the run)");
  auto* dist = cmd->add_option_group(
      "distributed",
      "A rank of a multi-process run (docs/distributed.md; `hypercomp launch` "
      "starts the ranks of one machine)");
  o->dist.world_size = 0;  // 0, -1: from WORLD_SIZE, RANK, LOCAL_WORLD_SIZE or 1, 0, 1
  o->dist.rank = -1;
  o->dist.local_ranks = 0;
  dist->add_option("--world-size", o->dist.world_size, "Processes in the run (env WORLD_SIZE)")
      ->check(CLI::Range(1, 4096));
  dist->add_option("--rank", o->dist.rank, "This process's rank, 0 to N-1 (env RANK)")
      ->check(CLI::Range(0, 4095));
  dist->add_option("--master", o->dist.master,
                   "HOST:PORT of rank 0's rendezvous store (env MASTER_ADDR, MASTER_PORT)");
  dist->add_option("--rendezvous-file", o->dist.file,
                   "Rendezvous through a file every rank can reach instead (env "
                   "HYPERCOMP_RENDEZVOUS_FILE)");
  dist->add_option("--bind", o->dist.bind,
                   "Address this rank's transport listens on (default: loopback for a local "
                   "run, the --master host on rank 0; required on other machines' ranks)");
  dist->add_option("--dist-timeout", o->dist.timeout_s,
                   "Seconds a rank waits for the others before stopping with an error")
      ->capture_default_str();
  return [o, args, log_every, print_config]() {
    o->dist.complete_from_environment();
    if (o->resume.empty()) {
      if (args->empty()) throw ConfigError("train: a config file is required (or --resume DIR)");
      o->config = args->front();
      o->overrides.assign(args->begin() + 1, args->end());
    } else {
      o->overrides = *args;
    }
    // An option that changes the outputs is a config key, so a resumed run repeats it.
    if (!log_every->empty()) o->overrides.push_back("train.log_every=" + *log_every);
    if (*print_config) {
      if (!o->resume.empty())
        throw ConfigError(
            "--print-config prints a new run's configuration: give CONFIG, not --resume");
      fmt::print("{}", to_yaml(trainer::load_run_config(o->config, o->overrides).to_yaml()));
      return 0;
    }
    trainer::train(*o);
    return 0;
  };
}

Command add_eval(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "eval", "Re-evaluate a run: its latest state beside its best (lowest validation loss)");
  auto o = std::make_shared<trainer::EvalOptions>();
  cmd->add_option("run", o->run_dir, "Run directory")->required();
  cmd->add_flag("--best", o->best, "Evaluate only best.pt (lowest valid loss)");
  return [o]() {
    std::vector<std::pair<std::string, trainer::Metrics>> states;
    if (!o->best) states.emplace_back("latest", trainer::evaluate_run(*o));
    // Model selection as the reference does it: the state with the best validation loss.
    if (o->best || fs::exists(fs::path(o->run_dir) / "best.pt")) {
      trainer::EvalOptions best = *o;
      best.best = true;
      states.emplace_back("best", trainer::evaluate_run(best));
    }
    fmt::print("{:<36}", "metric");
    for (const auto& st : states) fmt::print(" {:>12}", st.first);
    fmt::print("\n");
    for (size_t i = 0; i < states.front().second.size(); ++i) {
      fmt::print("{:<36}", states.front().second[i].first);
      for (const auto& st : states) {
        const double v = st.second[i].second;
        fmt::print(" {:>12}", std::isfinite(v) ? fmt::format("{:.6g}", v) : "-");
      }
      fmt::print("\n");
    }
    return 0;
  };
}

}  // namespace hc::app
