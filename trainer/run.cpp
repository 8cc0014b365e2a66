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

// Appends records to metrics.jsonl and to a CSV per kind, counting lines for checkpoints.
class MetricsFiles {
 public:
  explicit MetricsFiles(const std::string& dir) : dir_(dir) {}
  void restore(int64_t jsonl, int64_t train_csv, int64_t eval_csv) {
    truncate_lines(path("metrics.jsonl"), jsonl);
    truncate_lines(path("train.csv"), train_csv);
    truncate_lines(path("eval.csv"), eval_csv);
    lines_ = {jsonl, train_csv, eval_csv};
  }
  void write(const std::string& kind, int64_t step, const Metrics& m) {
    nlohmann::json j = {{"kind", kind}, {"step", step}};
    for (const auto& [k, v] : m) j[k] = std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
    append(path("metrics.jsonl"), j.dump() + "\n");
    ++lines_[0];
    const int which = kind == "train" ? 1 : 2;
    std::string csv;
    if (lines_[which] == 0) {
      csv = "step";
      for (const auto& [k, v] : m) csv += "," + k;
      csv += "\n";
      ++lines_[which];
    }
    csv += std::to_string(step);
    for (const auto& [k, v] : m) csv += "," + (std::isfinite(v) ? fmt::format("{}", v) : "");
    append(path(which == 1 ? "train.csv" : "eval.csv"), csv + "\n");
    ++lines_[which];
  }
  int64_t lines(int i) const { return lines_[i]; }

 private:
  std::string path(const char* name) const { return (fs::path(dir_) / name).string(); }
  static void append(const std::string& p, const std::string& text) {
    std::ofstream out(p, std::ios::app);
    out << text;
    out.flush();
    if (!out) throw Error(fmt::format("cannot write '{}'", p));
  }
  std::string dir_;
  std::array<int64_t, 3> lines_{0, 0, 0};
};

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
    if (config.learner.name == LearnerKind::kImitation) dims.latent = family.task_space().latent_dim();
    policy = agents::make_policy(config.policy, dims, derive_seed(config.train.seed, {0x1417}));
    learner = std::make_unique<Learner>(policy, config.learner, config.threads(),
                                        config.train.parallel == Parallel::kShards);
  }
  int shards() const { return config.train.shards; }
  std::string path(const char* name) const { return (fs::path(dir) / name).string(); }
};

}  // namespace

RunResult train(const TrainOptions& o) {
  const bool resuming = !o.resume.empty();
  RunConfig config;
  std::string dir;
  if (resuming) {
    dir = o.resume;
    if (!o.overrides.empty())
      throw ConfigError("a resumed run keeps its configuration: drop the key=value overrides");
    const std::string cfg = (fs::path(dir) / kConfig).string();
    if (!fs::exists(cfg))
      throw Error(fmt::format("'{}' is not a run directory (no {})", dir, kConfig));
    config = load_run_config(cfg);
  } else {
    config = load_run_config(o.config, o.overrides);
    dir = o.run_dir.empty() ? default_run_dir(o.config) : o.run_dir;
    if (fs::exists(fs::path(dir) / kCheckpoint) || fs::exists(fs::path(dir) / kConfig))
      throw Error(
          fmt::format("run directory '{}' already holds a run: continue it with --resume {} "
                      "or choose another --run-dir",
                      dir, dir));
    fs::create_directories(dir);
    atomic_write((fs::path(dir) / kConfig).string(), to_yaml(config.to_yaml()));
  }
  const std::string config_text = to_yaml(config.to_yaml());
  Session s(config, dir);
  const TrainConfig& tc = config.train;
  const tasks::TaskFamily& family = *config.family;

  auto log = std::make_shared<spdlog::logger>(
      "train", std::make_shared<spdlog::sinks::basic_file_sink_mt>(s.path("train.log")));
  log->set_pattern("[%Y-%m-%d %H:%M:%S] %v");
  log->flush_on(spdlog::level::info);

  MetricsFiles metrics(dir);
  CheckpointState state;
  state.config = config_text;
  state.threads = s.shards();
  if (resuming) {
    if (fs::exists(s.path(kSummary))) {
      const auto summary = nlohmann::json::parse(read_file(s.path(kSummary)));
      if (!o.quiet) fmt::print(stderr, "run '{}' already finished ({} steps)\n", dir, tc.steps);
      RunResult r;
      r.dir = dir;
      for (const auto& [k, v] : summary["final"].items())
        r.final_metrics.emplace_back(k, v.is_null() ? std::nan("") : v.get<double>());
      r.wall_time = summary.value("wall_time_s", 0.0);
      r.best_step = summary.value("best_step", int64_t{-1});
      return r;
    }
    if (fs::exists(s.path(kCheckpoint))) {
      state = load_checkpoint(s.path(kCheckpoint), *s.policy, &s.learner->optimizer());
      if (state.config != config_text)
        throw Error(fmt::format("checkpoint '{}' was written by another configuration than '{}'",
                                s.path(kCheckpoint), s.path(kConfig)));
      s.learner->set_skipped_steps(state.skipped);
    }
    metrics.restore(state.metrics_lines, state.train_csv_lines, state.eval_csv_lines);
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
               resuming ? "resuming" : "training", name_of(config.policy.name), family.name(), tc.steps,
               config.learner.meta_batch, config.threads(), dir);
  Evaluator evaluator(family, config.eval, tc.seed, config.learner.meta_batch, s.shards());
  Progress progress(state.step, tc.steps, !o.quiet);
  const int64_t log_every = o.log_every > 0 ? o.log_every : std::max<int64_t>(1, tc.steps / 100);
  Metrics last_eval;
  double last_loss = std::nan("");
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;

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
    training_tasks(family, tc.seed, step, config.learner.meta_batch, ids, seeds);
    s.learner->set_outer_lr(outer_lr_at(config.learner, step, tc.steps));
    const StepStats st = s.learner->step(make_batches(family, ids, seeds, s.shards()));
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
      state.metrics_lines = metrics.lines(0);
      state.train_csv_lines = metrics.lines(1);
      state.eval_csv_lines = metrics.lines(2);
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
                            {"peak_memory_mb", static_cast<double>(peak_memory_kb()) / 1024.0},
                            {"skipped_steps", s.learner->skipped_steps()},
                            {"best_step", state.best_step},
                            {"best_valid_loss", state.best_valid_loss},
                            {"final", to_json(last_eval)}};
  atomic_write(s.path(kSummary), summary.dump(2) + "\n");
  log->info("finished in {}: {}", format_duration(r.wall_time),
            short_metrics(last_eval, last_loss));
  if (!o.quiet)
    fmt::print(stderr, "done in {}; metrics in {}/metrics.jsonl, summary in {}/{}\n",
               format_duration(r.wall_time), dir, dir, kSummary);
  return r;
}

LoadedRun load_run(const std::string& dir, bool best) {
  const std::string cfg = (fs::path(dir) / kConfig).string();
  if (!fs::is_directory(dir)) throw Error(fmt::format("run directory '{}' does not exist", dir));
  if (!fs::exists(cfg))
    throw Error(fmt::format("'{}' is not a run directory (no {})", dir, kConfig));
  const std::string ckpt = (fs::path(dir) / (best ? kBest : kCheckpoint)).string();
  if (!fs::exists(ckpt))
    throw Error(fmt::format("run '{}' is incomplete: no {} ({})", dir, best ? kBest : kCheckpoint,
                            best ? "written at the first evaluation"
                                 : "written at the first checkpoint; train or resume the run"));
  Session s(load_run_config(cfg), dir);
  LoadedRun r;
  r.dir = dir;
  r.checkpoint = ckpt;
  r.state = load_checkpoint(ckpt, *s.policy, nullptr);
  if (r.state.config != to_yaml(s.config.to_yaml()))
    throw Error(
        fmt::format("checkpoint '{}' was written by another configuration than '{}'", ckpt, cfg));
  r.config = std::move(s.config);
  r.policy = std::move(s.policy);
  r.learner = std::move(s.learner);
  return r;
}

Metrics evaluate_run(const EvalOptions& o) {
  LoadedRun r = load_run(o.run_dir, o.best);
  Evaluator evaluator(*r.config.family, r.config.eval, r.config.train.seed,
                      r.config.learner.meta_batch, r.config.train.shards);
  Metrics m = evaluator.run(*r.learner);
  nlohmann::json out = {
      {"checkpoint", r.checkpoint}, {"step", r.state.step}, {"metrics", to_json(m)}};
  atomic_write((fs::path(r.dir) / (o.best ? "eval-best.json" : "eval-latest.json")).string(),
               out.dump(2) + "\n");
  return m;
}

}  // namespace hc::trainer
