#include "trainer/run.h"

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/io.h"
#include "trainer/checkpoint.h"
#include "trainer/memory.h"
#include "trainer/metrics_files.h"
#include "trainer/progress.h"

namespace hc::trainer {
namespace fs = std::filesystem;
namespace {

constexpr const char* kConfig = "config.yaml";
constexpr const char* kCheckpoint = "checkpoint.pt";
constexpr const char* kBest = "best.pt";
constexpr const char* kSummary = "summary.json";

int64_t peak_memory_kb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6));
  return -1;
}

nlohmann::json to_json(const Metrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
  return j;
}

std::string default_run_dir(const std::string& config) {
  const auto now = std::chrono::system_clock::now();
  const std::string base = fmt::format("runs/{}-{:%Y%m%d-%H%M%S}", fs::path(config).stem().string(),
                                       fmt::localtime(std::chrono::system_clock::to_time_t(now)));
  std::string dir = base;
  for (int i = 2; fs::exists(dir); ++i) dir = fmt::format("{}-{}", base, i);
  return dir;
}

std::string short_metrics(const Metrics& m, double train_loss) {
  std::string s = std::isfinite(train_loss) ? fmt::format("loss {:.4f}", train_loss) : "";
  for (const char* key : {"test/acc", "ood/acc", "test/r2", "ood/r2", "id/r2"}) {
    const double v = metric(m, key);
    if (std::isfinite(v)) s += fmt::format("{}{} {:.3f}", s.empty() ? "" : " | ", key, v);
  }
  return s;
}

struct Session {
  RunConfig config;
  std::string dir;
  agents::Policy policy;
  std::unique_ptr<Learner> learner;

  Session(RunConfig c, std::string d) : config(std::move(c)), dir(std::move(d)) {
    const tasks::TaskFamily& family = *config.family;
    agents::PolicyDims dims{family.input_dim(), family.output_dim(), 0};
    if (config.learner.name == LearnerKind::kImitation)
      dims.latent = family.task_space().latent_dim();
    policy = agents::make_policy(config.policy, dims, derive_seed(config.train.seed, {0x1417}));
    learner = std::make_unique<Learner>(policy, config.learner, config.threads(),
                                        config.train.parallel == Parallel::kShards);
  }
  int shards() const { return config.train.shards; }
  std::string path(const char* name) const { return (fs::path(dir) / name).string(); }
};

}  // namespace

namespace {

RunResult train_run(const TrainOptions& o) {
  const bool resuming = !o.resume.empty();
  RunConfig config;
  std::string dir;
  std::unique_ptr<DirectoryLock> lock;  // held until the run returns or the process ends
  if (resuming) {
    dir = o.resume;
    if (!o.overrides.empty())
      throw ConfigError("a resumed run keeps its configuration: drop the key=value overrides");
    const std::string cfg = (fs::path(dir) / kConfig).string();
    if (!fs::exists(cfg))
      throw Error(fmt::format("'{}' is not a run directory (no {})", dir, kConfig));
    lock = std::make_unique<DirectoryLock>(dir);
    // Temporary files of atomic writes a killed process did not finish (no one else writes here).
    for (const auto& e : fs::directory_iterator(dir))
      if (e.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(e.path());
    config = load_run_config(cfg);
  } else {
    config = load_run_config(o.config, o.overrides);
    dir = o.run_dir.empty() ? default_run_dir(o.config) : o.run_dir;
  }
  Session s(config, dir);
  // Before anything is written: a configuration too large for this machine is refused here.
  const MemoryEstimate memory = estimate_memory(config, *s.learner);
  const std::string memory_warning = check_memory(config, memory);
  if (!memory_warning.empty()) fmt::print(stderr, "{}\n", memory_warning);
  if (!resuming) {
    fs::create_directories(dir);
    // Locked before anything is checked or written: of two processes starting the same run
    // directory, one gets it and the other an error.
    lock = std::make_unique<DirectoryLock>(dir);
    if (fs::exists(fs::path(dir) / kCheckpoint) || fs::exists(fs::path(dir) / kConfig))
      throw Error(
          fmt::format("run directory '{}' already holds a run: continue it with --resume {} "
                      "or choose another --run-dir",
                      dir, dir));
    atomic_write((fs::path(dir) / kConfig).string(), to_yaml(config.to_yaml()));
  }
  const std::string config_text = to_yaml(config.to_yaml());
  const TrainConfig& tc = config.train;
  const tasks::TaskFamily& family = *config.family;

  auto log = std::make_shared<spdlog::logger>(
      "train", std::make_shared<spdlog::sinks::basic_file_sink_mt>(s.path("train.log")));
  log->set_pattern("[%Y-%m-%d %H:%M:%S] %v");
  log->flush_on(spdlog::level::info);

  log->info("{}", memory.summary());
  MetricsFiles metrics(dir);
  CheckpointState state;
  state.config = config_text;
  state.threads = s.shards();
  if (resuming) {
    std::optional<nlohmann::json> summary;
    if (fs::exists(s.path(kSummary))) {
      try {
        summary = read_json(s.path(kSummary));
      } catch (const Error& e) {
        // Everything in it is derived from the last checkpoint: finish the run again.
        log->info("{}; finishing the run again from its last checkpoint", e.what());
        fmt::print(stderr, "{}; finishing the run again from its last checkpoint\n", e.what());
      }
    }
    if (summary) {
      if (!o.quiet) fmt::print(stderr, "run '{}' already finished ({} steps)\n", dir, tc.steps);
      RunResult r;
      r.dir = dir;
      for (const auto& [k, v] : (*summary)["final"].items())
        r.final_metrics.emplace_back(k, v.is_null() ? std::nan("") : v.get<double>());
      r.wall_time = summary->value("wall_time_s", 0.0);
      r.best_step = summary->value("best_step", int64_t{-1});
      return r;
    }
    if (fs::exists(s.path(kCheckpoint))) {
      state = load_checkpoint(s.path(kCheckpoint), *s.policy, &s.learner->optimizer(),
                              s.path(kConfig), config_text);
      s.learner->set_skipped_steps(state.skipped);
    }
    for (const std::string& repair : metrics.restore(state.metrics)) {
      log->info("repaired {}", repair);
      fmt::print(stderr, "repaired {}\n", repair);  // even when quiet: the user should know
    }
    log->info("resumed at step {}", state.step);
  } else {
    log->info("new run: {} ({} on {}, {} steps, {} threads)", dir, name_of(config.policy.name),
              family.name(), tc.steps, config.threads());
  }

  const auto t_start = std::chrono::steady_clock::now();
  const double wall_before = state.wall_time;
  const auto wall = [&] {
    return wall_before +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  };
  if (!o.quiet)
    fmt::print(stderr, "{} {} on {}: {} steps, meta-batch {}, {} thread(s); run dir {}\n",
               resuming ? "resuming" : "training", name_of(config.policy.name), family.name(),
               tc.steps, config.learner.meta_batch, config.threads(), dir);
  Evaluator evaluator(family, config.eval, tc.seed, config.learner.meta_batch, s.shards());
  Progress progress(state.step, tc.steps, !o.quiet);
  const int64_t log_every = tc.log_every > 0 ? tc.log_every : std::max<int64_t>(1, tc.steps / 100);
  Metrics last_eval;
  double last_loss = std::nan("");
  TrainingData data(family, tc.seed, config.learner.meta_batch, s.shards());

  for (int64_t step = state.step;; ++step) {
    if (step % tc.eval_every == 0 || step == tc.steps) {
      last_eval = evaluator.run(*s.learner);
      metrics.write("eval", step, last_eval);
      const double valid = metric(last_eval, "valid/loss");
      if (std::isfinite(valid) && valid < state.best_valid_loss) {
        state.best_valid_loss = valid;
        state.best_step = step;
        CheckpointState best = state;
        best.step = step;
        save_checkpoint(s.path(kBest), *s.policy, nullptr, best);
      }
      const std::string line =
          fmt::format("eval @ {}: {}", step, short_metrics(last_eval, last_loss));
      log->info(line);
      progress.message(line);
    }
    if (step == tc.steps) break;
    const std::vector<Batch> batches = data.take(step, tc.steps);
    s.learner->set_outer_lr(outer_lr_at(config.learner, step, tc.steps));
    const StepStats st = s.learner->step(batches);
    last_loss = st.loss;
    if ((step + 1) % log_every == 0 || step + 1 == tc.steps) {
      Metrics m{{"loss", st.loss},
                {"grad_norm", st.grad_norm},
                {"skipped", static_cast<double>(s.learner->skipped_steps())}};
      if (!s.learner->imitation()) {
        m.emplace_back("support_loss_before", st.support_before);
        m.emplace_back("support_loss_last", st.support_after);
      }
      metrics.write("train", step + 1, m);
    }
    progress.update(step + 1, short_metrics(last_eval, last_loss));
    if ((step + 1) % tc.checkpoint_every == 0 || step + 1 == tc.steps) {
      state.step = step + 1;
      state.skipped = s.learner->skipped_steps();
      state.metrics = metrics.state();
      state.wall_time = wall();
      save_checkpoint(s.path(kCheckpoint), *s.policy, &s.learner->optimizer(), state);
    }
  }
  progress.finish();

  RunResult r;
  r.dir = dir;
  r.final_metrics = last_eval;
  r.wall_time = wall();
  r.best_step = state.best_step;
  nlohmann::json summary = {{"config", config.file},
                            {"family", family.name()},
                            {"policy", name_of(config.policy.name)},
                            {"learner", name_of(config.learner.name)},
                            {"steps", tc.steps},
                            {"seed", tc.seed},
                            {"threads", config.threads()},
                            {"wall_time_s", r.wall_time},
                            {"data_wait_s", data.wait_seconds()},
                            {"peak_memory_mb", static_cast<double>(peak_memory_kb()) / 1024.0},
                            {"skipped_steps", s.learner->skipped_steps()},
                            {"best_step", state.best_step},
                            {"best_valid_loss", state.best_valid_loss},
                            {"final", to_json(last_eval)}};
  // The evaluation of the state saved as best.pt (model selection by validation loss, as the
  // reference does), from the records: it may predate a resume.
  for (auto& e : read_json_lines(s.path("metrics.jsonl")))
    if (e.value("kind", "") == "eval" && e.value("step", int64_t{-1}) == state.best_step) {
      e.erase("kind");
      e.erase("step");
      summary["best"] = std::move(e);
    }
  atomic_write(s.path(kSummary), summary.dump(2) + "\n");
  log->info("finished in {} ({:.1f} s of this session waiting for training data): {}",
            format_duration(r.wall_time), data.wait_seconds(), short_metrics(last_eval, last_loss));
  if (!o.quiet)
    fmt::print(stderr, "done in {}; metrics in {}/metrics.jsonl, summary in {}/{}\n",
               format_duration(r.wall_time), dir, dir, kSummary);
  return r;
}

}  // namespace

RunResult train(const TrainOptions& o) {
  try {
    return train_run(o);
  } catch (const std::bad_alloc&) {
  } catch (const c10::Error& e) {
    if (std::string(e.what()).find("allocate") == std::string::npos) throw;
  }
  // One line naming the keys that drive memory, not a backtrace; checkpoints are written
  // atomically, so the last one is intact.
  throw Error(fmt::format(
      "out of memory while training '{}': lower learner.meta_batch, learner.inner_steps or "
      "policy.hidden (the estimate made at the start is in train.log); a run can be resumed from "
      "its last checkpoint",
      o.resume.empty() ? o.config : o.resume));
}

LoadedRun load_run(const std::string& dir, bool best) {
  const std::string cfg = (fs::path(dir) / kConfig).string();
  if (!fs::is_directory(dir)) throw Error(fmt::format("run directory '{}' does not exist", dir));
  if (!fs::exists(cfg))
    throw Error(fmt::format("'{}' is not a run directory (no {})", dir, kConfig));
  Session s(load_run_config(cfg), dir);
  LoadedRun r;
  r.checkpoint = s.path(best ? kBest : kCheckpoint);
  if (!fs::exists(r.checkpoint))
    throw Error(fmt::format("run directory '{}' is incomplete: no {} yet ({})", dir,
                            best ? kBest : kCheckpoint,
                            best ? "written at the first evaluation"
                                 : "written at the first checkpoint; train or resume the run"));
  const CheckpointState state =
      load_checkpoint(r.checkpoint, *s.policy, nullptr, cfg, to_yaml(s.config.to_yaml()));
  r.step = state.step;
  r.dir = dir;
  r.config = std::move(s.config);
  r.policy = std::move(s.policy);
  r.learner = std::move(s.learner);
  return r;
}

Metrics evaluate_run(const EvalOptions& o) {
  LoadedRun run = load_run(o.run_dir, o.best);
  Evaluator evaluator(*run.config.family, run.config.eval, run.config.train.seed,
                      run.config.learner.meta_batch, run.config.train.shards);
  Metrics m = evaluator.run(*run.learner);
  nlohmann::json out = {
      {"checkpoint", run.checkpoint}, {"step", run.step}, {"metrics", to_json(m)}};
  atomic_write((fs::path(o.run_dir) / (o.best ? "eval-best.json" : "eval-latest.json")).string(),
               out.dump(2) + "\n");
  return m;
}

}  // namespace hc::trainer
