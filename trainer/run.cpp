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
#include <optional>
#include <sstream>

#include "base/error.h"
#include "base/io.h"
#include "trainer/checkpoint.h"
#include "trainer/distributed.h"
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

  Session(RunConfig c, std::string d, int local_ranks = 1)
      : config(std::move(c)), dir(std::move(d)) {
    policy = config.make_policy();
    learner = std::make_unique<Learner>(policy, config.learner, config.threads(local_ranks),
                                        config.train.parallel == Parallel::kShards);
  }
  int shards() const { return config.train.shards; }
  std::string path(const char* name) const { return (fs::path(dir) / name).string(); }
};

// Whether a file of a run directory's is one a run writes (run.h).
bool is_run_file(const std::string& name) {
  for (const char* f : {kConfig, kCheckpoint, kBest, kSummary, "metrics.jsonl", "train.csv",
                        "eval.csv", "train.log", "eval-latest.json", "eval-best.json"})
    if (name == f) return true;
  return false;
}

// The error for a directory that holds no run. A run killed before it wrote its configuration
// (its first seconds: reading the configuration, building the family, the memory estimate)
// trained nothing and may not have created its directory: its own command starts it again, which
// a resume is told.
[[noreturn]] void not_a_run(const std::string& dir, bool resuming) {
  const std::string again = fmt::format(
      "stopped before it wrote its configuration, it trained nothing: start it again with its "
      "original command (hypercomp train CONFIG [key=value ...] --run-dir {})",
      dir);
  if (!fs::is_directory(dir))
    throw Error(fmt::format("run directory '{}' does not exist{}", dir,
                            resuming ? "; if a run was started there and " + again : ""));
  bool empty = true;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    empty = empty &&
            (name == ".lock" || name == "train.log" || name.find(".tmp.") != std::string::npos);
  }
  throw Error(fmt::format("'{}' is not a run directory (no {}){}", dir, kConfig,
                          empty ? ": if the run that created it " + again : ""));
}

// Whether the history of a run without checkpoint.pt shows that one was written: a record that
// a run only writes after its first checkpoint (an evaluation at or after that step, a train
// record past it). A run killed before its first checkpoint has none, and starts again from step
// 0. Returns the record, or "".
std::string checkpoint_evidence(const std::string& dir, const TrainConfig& tc) {
  const int64_t first = std::min(tc.checkpoint_every, tc.steps);
  const std::string path = (fs::path(dir) / "metrics.jsonl").string();
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer() ||
        !j.contains("kind"))
      continue;
    const int64_t step = j["step"].get<int64_t>();
    if ((j["kind"] == "eval" && step >= first) || (j["kind"] == "train" && step > first))
      return fmt::format("'{}' (its {} record of step {})", path, j["kind"].get<std::string>(),
                         step);
  }
  return "";
}

// What a run directory holds beside its checkpoint, checked before the run is continued or
// evaluated.
struct History {
  bool finished = false;  // a summary.json, and everything the run wrote matches it
  std::string damage;     // why a run with a summary.json must be finished again ("" if not)
  nlohmann::json summary;
};

// Throws, naming the file, what cannot be repaired: checkpoint.pt missing although the run had
// written one, or metrics.jsonl records that the checkpoint recorded lost or changed. `state` is
// checkpoint.pt's (null: there is none).
History check_history(const std::string& dir, const RunConfig& config,
                      const CheckpointState* state) {
  const TrainConfig& tc = config.train;
  const std::string summary_path = (fs::path(dir) / kSummary).string();
  const bool has_summary = fs::exists(summary_path);
  if (!state) {
    const std::string evidence =
        has_summary ? "'" + summary_path + "' (a finished run)" : checkpoint_evidence(dir, tc);
    if (!evidence.empty())
      throw Error(fmt::format(
          "'{}' is missing, but {} shows that the run wrote it: the run's state is lost; restore "
          "{}, or remove '{}' to start the run again",
          (fs::path(dir) / kCheckpoint).string(), evidence, kCheckpoint, dir));
  }
  MetricsFiles files(dir);
  files.restore(state ? state->metrics : MetricsState{}, /*apply=*/false);
  History h;
  if (!has_summary) return h;
  try {
    h.summary = read_summary(dir, config);
  } catch (const Error& e) {
    h.damage = e.what();
    return h;
  }
  if (state->step != tc.steps) {
    h.damage =
        fmt::format("'{}' says the run finished, but its last checkpoint is at step {} of {}",
                    summary_path, state->step, tc.steps);
    return h;
  }
  h.damage = files.check_final(state->metrics, "eval", tc.steps, h.summary["final"]);
  if (!h.damage.empty()) return h;
  // The best state: the checkpoint's, unless the final evaluation (after it) was better.
  const auto& final = h.summary["final"];
  const double valid = final.contains("valid/loss") && final["valid/loss"].is_number()
                           ? final["valid/loss"].get<double>()
                           : std::nan("");
  const int64_t best =
      std::isfinite(valid) && valid < state->best_valid_loss ? tc.steps : state->best_step;
  if (h.summary["best_step"] != best) {
    h.damage = fmt::format("'{}' has best_step {}, but the run's history gives {}", summary_path,
                           h.summary["best_step"].dump(), best);
    return h;
  }
  if (best >= 0) {
    nlohmann::json record;
    for (auto& e : read_json_lines((fs::path(dir) / "metrics.jsonl").string()))
      if (e["kind"] == "eval" && e["step"] == best) record = std::move(e);
    if (record.is_object()) {
      record.erase("kind");
      record.erase("step");
    }
    if (!record.is_object() || !h.summary.contains("best") || h.summary["best"] != record)
      h.damage = fmt::format("'{}' does not hold the evaluation of step {} (best.pt) as recorded",
                             summary_path, best);
  }
  h.finished = h.damage.empty();
  return h;
}

}  // namespace

nlohmann::json read_summary(const std::string& dir, const RunConfig& config) {
  const std::string path = (fs::path(dir) / kSummary).string();
  const nlohmann::json j = read_json(path);
  const auto bad = [&](const std::string& what) {
    return Error(fmt::format("'{}' {}", path, what));
  };
  if (!j.is_object()) throw bad(fmt::format("is not a JSON object (it holds {})", j.type_name()));
  const auto field = [&](const char* key, bool (nlohmann::json::*is)() const noexcept,
                         const char* expected) -> const nlohmann::json& {
    if (!j.contains(key)) throw bad(fmt::format("has no \"{}\"", key));
    if (!(j[key].*is)())
      throw bad(fmt::format("\"{}\" is {}, expected {}", key, j[key].type_name(), expected));
    return j[key];
  };
  for (const char* key : {"final", "best"}) {
    if (!j.contains(key) && std::string(key) == "best") continue;
    for (const auto& [k, v] :
         field(key, &nlohmann::json::is_object, "an object of metrics").items())
      if (!v.is_number() && !v.is_null())
        throw bad(
            fmt::format("\"{}\": \"{}\" is {}, expected a number or null", key, k, v.type_name()));
  }
  // The run it describes: that of the configuration.
  const auto same = [&](const char* key, const nlohmann::json& value, const char* config_key) {
    if (field(key, value.is_string() ? &nlohmann::json::is_string : &nlohmann::json::is_number,
              value.is_string() ? "a string" : "a number") != value)
      throw bad(fmt::format("\"{}\" is {}, but the run's configuration has {}={}", key,
                            j[key].dump(), config_key, value.dump()));
  };
  same("steps", config.train.steps, "train.steps");
  same("seed", config.train.seed, "train.seed");
  same("family", std::string(config.family->name()), "family.name");
  same("policy", std::string(name_of(config.policy.name)), "policy.name");
  same("learner", std::string(name_of(config.learner.name)), "learner.name");
  if (field("wall_time_s", &nlohmann::json::is_number, "a number").get<double>() < 0)
    throw bad("\"wall_time_s\" is negative");
  const int64_t best = field("best_step", &nlohmann::json::is_number_integer, "an integer");
  if (best < -1 || best > config.train.steps)
    throw bad(fmt::format("\"best_step\" is {}, expected -1 to train.steps={}", best,
                          config.train.steps));
  return j;
}

namespace {

// What every rank sends at the start: what it runs, and the error that stopped it if any. All
// must agree with rank 0 before anything is trained; a resumed run's configuration is rank 0's
// (the run directory need not be reachable from the other machines).
RunConfig agree_on_start(Group& group, bool resuming, const std::string& problem,
                         RunConfig config) {
  const bool lead = group.rank() == 0;
  const nlohmann::json hello = {
      {"version", HYPERCOMP_VERSION},
      {"resume", resuming},
      {"error", problem},
      {"config", problem.empty() && (lead || !resuming) ? to_yaml(config.to_yaml()) : ""}};
  std::vector<nlohmann::json> all;
  for (const std::string& bytes : group.all_gather(hello.dump())) {
    all.push_back(nlohmann::json::parse(bytes, nullptr, /*allow_exceptions=*/false));
    if (!all.back().is_object() || !all.back().contains("config") ||
        !all.back()["config"].is_string() || !all.back().contains("error"))
      throw DistError(fmt::format("rank {} sent a malformed start message: is it hypercomp {}?",
                                  all.size() - 1, HYPERCOMP_VERSION));
  }
  if (!problem.empty()) return config;  // the caller reports this rank's own problem
  for (size_t r = 0; r < all.size(); ++r) {
    const std::string error = all[r]["error"].get<std::string>();
    if (!error.empty()) throw Error(fmt::format("rank {} could not start: {}", r, error));
  }
  for (size_t r = 1; r < all.size(); ++r) {
    if (all[r].value("version", "") != all[0].value("version", ""))
      throw Error(
          fmt::format("rank {} runs hypercomp {} but rank 0 runs {}: every rank needs the "
                      "same build",
                      r, all[r].value("version", "?"), all[0].value("version", "?")));
    if (all[r].value("resume", false) != all[0].value("resume", false))
      throw Error(
          fmt::format("rank {} was started {} --resume but rank 0 {}: start every rank "
                      "with the same train command",
                      r, all[r].value("resume", false) ? "with" : "without",
                      all[0].value("resume", false) ? "with it" : "without it"));
    if (resuming) continue;
    const std::string mine = all[r]["config"], theirs = all[0]["config"];
    if (mine == theirs) continue;
    std::istringstream a(mine), b(theirs);
    std::string la, lb;
    int line = 1;
    while (std::getline(a, la) && std::getline(b, lb) && la == lb) ++line;
    throw Error(fmt::format(
        "rank {}'s resolved configuration differs from rank 0's at line {}: '{}' against '{}' "
        "(give every rank the same config file and overrides)",
        r, line, la, lb));
  }
  if (!lead && resuming)
    config = load_run_config_text(all[0]["config"].get<std::string>(), "rank 0's run config");
  return config;
}

// Rank 0 hands its state (the checkpoint bytes it made, that the run is finished, or the error
// that stopped it) to the other ranks, which load it. Nothing: the run is finished.
std::optional<CheckpointState> share_state(Group& group, const std::string& lead_error,
                                           bool finished, const std::string& lead_bytes, Session& s,
                                           const CheckpointState& state) {
  std::string message;
  if (group.rank() == 0)
    message = !lead_error.empty() ? "E" + lead_error : finished ? "F" : "S" + lead_bytes;
  message = group.broadcast(message);
  if (group.rank() == 0) {
    if (!lead_error.empty()) throw Error(lead_error);
    if (finished) return std::nullopt;
    return state;
  }
  if (message.empty() || (message[0] != 'S' && message[0] != 'E' && message[0] != 'F'))
    throw DistError("rank 0 sent a malformed state message");
  if (message[0] == 'E') throw Error(fmt::format("rank 0 stopped: {}", message.substr(1)));
  if (message[0] == 'F') return std::nullopt;
  return load_checkpoint_bytes(message.substr(1), "rank 0's state", *s.policy,
                               &s.learner->optimizer());
}

// What train() reports if memory runs out: where the run got to.
struct Started {
  std::string dir, log, estimate;  // the run directory, its train.log once written, the estimate
};

RunResult train_run(const TrainOptions& o, Started& started) {
  std::unique_ptr<Group> group;
  if (o.dist.distributed()) group = std::make_unique<Group>(o.dist);
  const bool lead = !group || group->rank() == 0;
  const bool resuming = !o.resume.empty();
  const bool quiet = o.quiet || !lead;
  RunConfig config;
  std::string dir;
  std::unique_ptr<DirectoryLock> lock;  // held until the run returns or the process ends
  std::string problem;                  // a rank's error, told to the others before it stops
  std::exception_ptr own_error;
  try {
    if (resuming) {
      dir = o.resume;
      if (!o.overrides.empty())
        throw ConfigError("a resumed run keeps its configuration: drop the key=value overrides");
      if (lead) {
        const std::string cfg = (fs::path(dir) / kConfig).string();
        if (!fs::exists(cfg)) not_a_run(dir, /*resuming=*/true);
        lock = std::make_unique<DirectoryLock>(dir);
        // Temporary files of atomic writes a killed process did not finish (no one else writes
        // here).
        for (const auto& e : fs::directory_iterator(dir))
          if (e.path().filename().string().find(".tmp.") != std::string::npos) fs::remove(e.path());
        config = load_run_config(cfg);
      }
    } else {
      config = load_run_config(o.config, o.overrides);
      dir = o.run_dir.empty() ? default_run_dir(o.config) : o.run_dir;
    }
    if (group && config.train.shards < group->size())
      throw ConfigError(fmt::format(
          "train.shards={} is fewer than the {} ranks: every rank needs at least one shard (use a "
          "multiple of the world size)",
          config.train.shards, group->size()));
    if (group && config.learner.meta_batch < config.train.shards)
      throw ConfigError(fmt::format(
          "learner.meta_batch={} is smaller than train.shards={}: a distributed run needs at "
          "least one task per shard",
          config.learner.meta_batch, config.train.shards));
  } catch (const Error& e) {
    if (!group) throw;
    problem = e.what();
    own_error = std::current_exception();
  }
  if (group) config = agree_on_start(*group, resuming, problem, std::move(config));
  if (own_error) std::rethrow_exception(own_error);

  started.dir = dir;
  // Before anything is written or the policy built: a configuration too large for this machine
  // is refused here.
  const MemoryEstimate memory = estimate_memory(config);
  started.estimate = memory.summary();
  const std::string memory_warning = check_memory(config, memory);
  if (!memory_warning.empty() && lead) fmt::print(stderr, "{}\n", memory_warning);
  Session s(config, dir, o.dist.local_ranks);
  if (group) s.learner->set_group(group.get());
  const std::string config_text = to_yaml(config.to_yaml());
  const TrainConfig& tc = config.train;
  const tasks::TaskFamily& family = *config.family;

  // Rank 0 alone owns the run directory: it writes the configuration, logs, metrics and
  // checkpoints, and hands its state to the other ranks.
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<MetricsFiles> metrics;
  CheckpointState state;
  state.config = config_text;
  state.threads = s.shards();
  std::optional<RunResult> finished;
  const auto open_run = [&] {
    if (!resuming) {
      // A new run gets a directory of its own: new, or left empty by a run stopped before it
      // wrote its configuration (its lock, a temporary file), never one with other files. What
      // is not a run's file is refused before anything is created there; a run's files after
      // the lock (one writer at a time).
      const auto refuse_others = [&](bool locked) {
        if (locked &&
            (fs::exists(fs::path(dir) / kCheckpoint) || fs::exists(fs::path(dir) / kConfig)))
          throw Error(
              fmt::format("run directory '{}' already holds a run: continue it with --resume {} "
                          "or choose another --run-dir",
                          dir, dir));
        if (!fs::is_directory(dir)) return;
        for (const auto& e : fs::directory_iterator(dir)) {
          const std::string name = e.path().filename().string();
          const bool leftover = name == ".lock" || name.find(".tmp.") != std::string::npos;
          if (!leftover && (locked || !is_run_file(name)))
            throw Error(fmt::format(
                "run directory '{}' holds other files ('{}'): a new run needs a new or empty "
                "directory (--run-dir)",
                dir, name));
        }
      };
      refuse_others(/*locked=*/false);
      fs::create_directories(dir);
      // Locked before anything is checked again or written: of two processes starting the same
      // run directory, one gets it and the other an error.
      lock = std::make_unique<DirectoryLock>(dir);
      refuse_others(/*locked=*/true);
      atomic_write((fs::path(dir) / kConfig).string(), config_text);
    }
    log = std::make_shared<spdlog::logger>(
        "train", std::make_shared<spdlog::sinks::basic_file_sink_mt>(s.path("train.log")));
    started.log = s.path("train.log");
    log->set_pattern("[%Y-%m-%d %H:%M:%S] %v");
    log->flush_on(spdlog::level::info);
    log->info("{}", memory.summary());
    metrics = std::make_unique<MetricsFiles>(dir);
    if (resuming) {
      // A finished run is checked like a stopped one, and its summary and final records against
      // what it finished with: reused only if intact, finished again from its last checkpoint if
      // what is damaged can be rebuilt, refused (naming the file) if not.
      std::optional<CheckpointState> loaded;
      if (fs::exists(s.path(kCheckpoint)))
        loaded = load_checkpoint(s.path(kCheckpoint), *s.policy, &s.learner->optimizer(),
                                 s.path(kConfig), config_text);
      const History history = check_history(dir, config, loaded ? &*loaded : nullptr);
      if (history.finished) {
        if (!quiet) fmt::print(stderr, "run '{}' already finished ({} steps)\n", dir, tc.steps);
        RunResult r;
        r.dir = dir;
        for (const auto& [k, v] : history.summary["final"].items())
          r.final_metrics.emplace_back(k, v.is_null() ? std::nan("") : v.get<double>());
        r.wall_time = history.summary["wall_time_s"].get<double>();
        r.best_step = history.summary["best_step"].get<int64_t>();
        r.finished_earlier = true;
        finished = r;
        return;
      }
      if (!history.damage.empty()) {
        // Everything in it is derived from the last checkpoint: finish the run again.
        log->info("{}; finishing the run again from its last checkpoint", history.damage);
        fmt::print(stderr, "{}; finishing the run again from its last checkpoint\n",
                   history.damage);
      }
      if (loaded) {
        state = *loaded;
        s.learner->set_skipped_steps(state.skipped);
      }
      for (const std::string& repair : metrics->restore(state.metrics)) {
        log->info("repaired {}", repair);
        fmt::print(stderr, "repaired {}\n", repair);  // even when quiet: the user should know
      }
      log->info("resumed at step {}", state.step);
    } else {
      log->info("new run: {} ({} on {}, {} steps, {} threads)", dir, name_of(config.policy.name),
                family.name(), tc.steps, s.learner->threads());
    }
    if (group)
      log->info("distributed: {} ranks, {} thread(s) each; rank 0 on this machine", group->size(),
                s.learner->threads());
  };
  std::string lead_error;
  try {
    if (lead) open_run();
  } catch (const Error& e) {
    if (!group) throw;
    lead_error = e.what();
  }
  if (group) {
    const std::string bytes = lead && lead_error.empty() && !finished
                                  ? checkpoint_bytes(*s.policy, &s.learner->optimizer(), state)
                                  : std::string();
    const auto shared = share_state(*group, lead_error, finished.has_value(), bytes, s, state);
    if (!shared) {
      if (lead) return *finished;
      RunResult r;
      r.dir = dir;
      r.finished_earlier = true;
      return r;
    }
    state = *shared;
    s.learner->set_skipped_steps(state.skipped);
  }
  if (finished) return *finished;

  const auto t_start = std::chrono::steady_clock::now();
  const double wall_before = state.wall_time;
  const auto wall = [&] {
    return wall_before +
           std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  };
  if (!quiet)
    fmt::print(stderr, "{} {} on {}: {} steps, meta-batch {}, {}{} thread(s); run dir {}\n",
               resuming ? "resuming" : "training", name_of(config.policy.name), family.name(),
               tc.steps, config.learner.meta_batch,
               group ? fmt::format("{} ranks x ", group->size()) : "", s.learner->threads(), dir);
  const int rank = group ? group->rank() : 0, world = group ? group->size() : 1;
  Evaluator evaluator(family, config.eval, tc.seed, config.learner.meta_batch, s.shards(), rank,
                      world);
  Progress progress(state.step, tc.steps, !quiet);
  const int64_t log_every = tc.log_every > 0 ? tc.log_every : std::max<int64_t>(1, tc.steps / 100);
  Metrics last_eval;
  double last_loss = std::nan("");
  TrainingData data(family, tc.seed, config.learner.meta_batch, s.shards(), rank, world);
  const int64_t first_step = state.step;
  double step_seconds = 0;  // in outer steps (data included), this session

  try {
    for (int64_t step = state.step;; ++step) {
      if (step % tc.eval_every == 0 || step == tc.steps) {
        last_eval = evaluator.run(*s.learner);  // collective; the metrics are rank 0's
        if (lead) {
          metrics->write("eval", step, last_eval);
          const double valid = metric(last_eval, "valid/loss");
          if (std::isfinite(valid) && valid < state.best_valid_loss) {
            state.best_valid_loss = valid;
            state.best_step = step;
            CheckpointState best = state;
            best.step = step;
            save_checkpoint(s.path(kBest), *s.policy, nullptr, best);
          }
          // The bar shows this evaluation from now on, the final one included.
          const std::string shown = short_metrics(last_eval, last_loss);
          const std::string line = fmt::format("eval @ {}: {}", step, shown);
          log->info(line);
          progress.message(line, shown);
        }
      }
      if (step == tc.steps) break;
      const auto step_start = std::chrono::steady_clock::now();
      const std::vector<Batch> batches = data.take(step, tc.steps);
      s.learner->set_outer_lr(outer_lr_at(config.learner, step, tc.steps));
      const StepStats st = s.learner->step(batches);
      step_seconds +=
          std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      last_loss = st.loss;
      if (lead && ((step + 1) % log_every == 0 || step + 1 == tc.steps)) {
        Metrics m{{"loss", st.loss},
                  {"grad_norm", st.grad_norm},
                  {"skipped", static_cast<double>(s.learner->skipped_steps())}};
        if (!s.learner->imitation()) {
          m.emplace_back("support_loss_before", st.support_before);
          m.emplace_back("support_loss_last", st.support_after);
        }
        metrics->write("train", step + 1, m);
      }
      progress.update(step + 1, short_metrics(last_eval, last_loss));
      if ((step + 1) % tc.checkpoint_every == 0 || step + 1 == tc.steps) {
        state.step = step + 1;
        state.skipped = s.learner->skipped_steps();
        std::string bytes;  // rank 0's checkpoint, written and handed to the other ranks
        if (lead) {
          state.metrics = metrics->state();
          state.wall_time = wall();
          bytes = checkpoint_bytes(*s.policy, &s.learner->optimizer(), state);
          atomic_write(s.path(kCheckpoint), bytes);
        }
        // Ranks on machines whose arithmetic differs in the last bit could drift apart; each
        // checkpoint puts every rank back on rank 0's state.
        if (group) state = *share_state(*group, "", false, bytes, s, state);
      }
    }
  } catch (const DistError& e) {
    if (!lead) throw;
    const std::string message = fmt::format(
        "{}; the last checkpoint of '{}' is intact: continue with hypercomp train "
        "--resume {} (with any number of ranks up to train.shards={})",
        e.what(), dir, dir, tc.shards);
    log->info("stopped: {}", message);
    throw Error(message);
  }
  progress.finish();

  RunResult r;
  r.dir = dir;
  r.final_metrics = last_eval;
  r.wall_time = wall();
  r.best_step = state.best_step;
  if (!lead) return r;
  nlohmann::json summary = {{"config", config.file},
                            {"family", family.name()},
                            {"policy", name_of(config.policy.name)},
                            {"learner", name_of(config.learner.name)},
                            {"steps", tc.steps},
                            {"seed", tc.seed},
                            {"threads", s.learner->threads()},
                            {"wall_time_s", r.wall_time},
                            {"data_wait_s", data.wait_seconds()},
                            {"step_s", step_seconds},
                            {"session_steps", tc.steps - first_step},
                            {"peak_memory_mb", static_cast<double>(peak_memory_kb()) / 1024.0},
                            {"skipped_steps", s.learner->skipped_steps()},
                            {"best_step", state.best_step},
                            {"best_valid_loss", state.best_valid_loss},
                            {"final", to_json(last_eval)}};
  if (group) {
    // This session's traffic (rank 0's view), for scaling estimates (docs/distributed.md).
    const CommStats& c = group->stats();
    const int64_t steps = std::max<int64_t>(1, tc.steps - first_step);
    summary["distributed"] = {{"world_size", group->size()},
                              {"collectives", c.collectives},
                              {"comm_s", c.seconds},
                              {"bytes_reduced_per_step", c.bytes_reduced / steps}};
    log->info("distributed: {} collectives, {:.1f} s in them, {} bytes all-reduced per step",
              c.collectives, c.seconds, c.bytes_reduced / steps);
  }
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
  if (!quiet)
    fmt::print(stderr, "done in {}; metrics in {}/metrics.jsonl, summary in {}/{}\n",
               format_duration(r.wall_time), dir, dir, kSummary);
  return r;
}

}  // namespace

RunResult train(const TrainOptions& o) {
  Started started;
  try {
    return train_run(o, started);
  } catch (const std::bad_alloc&) {
  } catch (const c10::Error& e) {
    if (std::string(e.what()).find("allocate") == std::string::npos) throw;
  }
  // One line naming the keys that drive memory, not a backtrace; checkpoints are written
  // atomically, so the last one is intact.
  std::string estimate;
  if (!started.log.empty())
    estimate = fmt::format(" (the estimate made at the start is in {})", started.log);
  else if (!started.estimate.empty())
    estimate = fmt::format(" ({})", started.estimate);
  std::error_code ignored;
  const bool checkpoint =
      !started.dir.empty() && fs::exists(fs::path(started.dir) / kCheckpoint, ignored);
  throw Error(fmt::format(
      "out of memory while training '{}': lower learner.meta_batch, learner.inner_steps or "
      "policy.hidden{}{}",
      o.resume.empty() ? o.config : o.resume, estimate,
      checkpoint ? "; the run can be resumed from its last checkpoint" : ""));
}

LoadedRun load_run(const std::string& dir, bool best) {
  const std::string cfg = (fs::path(dir) / kConfig).string();
  if (!fs::is_directory(dir) || !fs::exists(cfg)) not_a_run(dir, /*resuming=*/false);
  Session s(load_run_config(cfg), dir);
  LoadedRun r;
  r.checkpoint = s.path(best ? kBest : kCheckpoint);
  // A checkpoint.pt that was written and then lost is named as such.
  if (!fs::exists(s.path(kCheckpoint))) check_history(dir, s.config, nullptr);
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
  // Checked like a resume before the work: its history, and a finished run's summary; and that
  // the result can be written.
  const std::string checkpoint = (fs::path(o.run_dir) / kCheckpoint).string();
  std::optional<CheckpointState> state;
  if (fs::exists(checkpoint))
    state = read_checkpoint_state(checkpoint, (fs::path(o.run_dir) / kConfig).string(),
                                  to_yaml(run.config.to_yaml()));
  const History history = check_history(o.run_dir, run.config, state ? &*state : nullptr);
  if (!history.damage.empty())
    throw Error(
        fmt::format("{}: `hypercomp train --resume {}` finishes the run again from its "
                    "last checkpoint",
                    history.damage, o.run_dir));
  check_writable(o.run_dir);
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
