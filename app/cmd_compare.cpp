// hypercomp compare: train several configurations (trainer/compare.h) and report them side by
// side -- a Markdown report and CSV table of final metrics (mean +- standard deviation over the
// plan's seeds), and learning curves (PNG) of in-distribution vs OOD metrics with bands.
#include <dlfcn.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <torch/version.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "app/child_process.h"
#include "app/commands.h"
#include "base/io.h"
#include "trainer/compare.h"
#include "trainer/progress.h"
#ifdef HYPERCOMP_HAVE_RENDER
#include "render/plot.h"
#endif

namespace hc::app {
namespace fs = std::filesystem;

std::string machine_line() {
  std::string cpu = "unknown CPU";
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  std::string os = "Linux";
  std::ifstream deb("/etc/debian_version");
  if (std::string v; std::getline(deb, v)) os = "Debian " + v;
  utsname u{};
  uname(&u);
  std::string blas = "system BLAS";
  using Config = char* (*)();
  if (auto f = reinterpret_cast<Config>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) blas = f();
  return fmt::format("{}, {} cores; {} (kernel {}); g++ {}; LibTorch {}.{}.{}; {}", cpu,
                     std::thread::hardware_concurrency(), os, u.release, __VERSION__,
                     TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH, blas);
}

namespace {

// Trains the jobs `jobs` at a time, each as this program's `train` in a child process (quiet;
// it dies with this process). A line says when each starts and ends. After a failure no new
// run starts; the running ones finish (a finished run is kept for the next call), then the
// failures are one Error naming each run and its log.
void train_in_parallel(const std::vector<trainer::TrainJob>& todo, int jobs) {
  using Clock = std::chrono::steady_clock;
  struct Child {
    size_t job;
    Clock::time_point started;
  };
  std::map<pid_t, Child> running;
  std::vector<std::string> failures;
  size_t next = 0, finished = 0;
  const auto dir_of = [](const trainer::TrainJob& j) {
    return j.options.resume.empty() ? j.options.run_dir : j.options.resume;
  };
  while (!running.empty() || (failures.empty() && next < todo.size())) {
    while (failures.empty() && next < todo.size() && static_cast<int>(running.size()) < jobs) {
      const trainer::TrainJob& job = todo[next];
      std::vector<std::string> args{"train"};
      if (job.options.resume.empty()) {
        args.push_back(job.options.config);
        args.insert(args.end(), job.options.overrides.begin(), job.options.overrides.end());
        args.insert(args.end(), {"--run-dir", job.options.run_dir});
      } else {
        args.insert(args.end(), {"--resume", job.options.resume});
      }
      args.push_back("-q");
      const pid_t pid =
          start_self(args, nullptr, SIGTERM, "compare", "compare: cannot execute a run's training");
      running[pid] = {next, Clock::now()};
      fmt::print(stderr, "{}: {} ({} running, {} waiting)\n", job.which,
                 job.options.resume.empty() ? "training" : "resuming", running.size(),
                 todo.size() - next - 1);
      ++next;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      throw Error(fmt::format("compare: waiting for a run: {}", std::strerror(errno)));
    }
    const auto it = running.find(pid);
    if (it == running.end()) continue;
    const trainer::TrainJob& job = todo[it->second.job];
    const double seconds = std::chrono::duration<double>(Clock::now() - it->second.started).count();
    running.erase(it);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      ++finished;
      fmt::print(stderr, "{}: done in {} ({} of {} done)\n", job.which,
                 trainer::format_duration(seconds), finished, todo.size());
      continue;
    }
    const std::string how = WIFEXITED(status) ? fmt::format("exit status {}", WEXITSTATUS(status))
                                              : fmt::format("signal {}", WTERMSIG(status));
    failures.push_back(fmt::format("{} ({}): training failed ({}); its log: {}/train.log",
                                   job.which, dir_of(job), how, dir_of(job)));
    fmt::print(stderr, "{}\n", failures.back());
  }
  if (!failures.empty())
    throw Error(
        fmt::format("compare: {} of {} runs failed{}:\n  {}", failures.size(), todo.size(),
                    next < todo.size() ? fmt::format(", {} not started", todo.size() - next) : "",
                    fmt::join(failures, "\n  ")));
}

// A word as a POSIX shell reads it back: quoted when it holds anything but plain characters
// (overrides such as family.tasks=0;1;0,1).
std::string shell_word(const std::string& w) {
  const bool plain = !w.empty() && std::all_of(w.begin(), w.end(), [](unsigned char c) {
    return std::isalnum(c) || std::strchr("_-./=,:+@%", c);
  });
  if (plain) return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string fmt_value(double v, int digits = 3) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "–";
}

// A metric of a run: its value, or mean ± standard deviation over several seeds.
std::string cell(const trainer::ComparedRun& r, const std::string& key, int digits = 3) {
  if (r.trials.size() < 2) return fmt_value(r.mean(key), digits);
  return fmt_value(r.mean(key), digits) + " ± " + fmt_value(r.stddev(key), digits);
}

std::string seeds_of(const trainer::ComparedRun& r) {
  std::string s;
  for (const auto& t : r.trials) s += (s.empty() ? "" : ", ") + std::to_string(t.seed);
  return s;
}

// A column header for a metric key: "ood/acc" -> "OOD acc", "id/r2_ood_hot2" -> "id R² 2-hot",
// "mean(id/r2_ood_hot1, id/r2_ood_hot2)" -> "id R² 1, 2-hot (mean)".
std::string header_of(const std::string& key) {
  if (key.rfind("mean(", 0) == 0 && key.back() == ')') {
    std::vector<std::string> parts;
    std::stringstream list(key.substr(5, key.size() - 6));
    for (std::string part; std::getline(list, part, ',');) {
      part.erase(0, part.find_first_not_of(' '));
      part.erase(part.find_last_not_of(' ') + 1);
      parts.push_back(header_of(part));
    }
    // Headers that differ only in a hotness read as one: "id R² 1, 2, 3-hot".
    const auto hot = [](const std::string& h) { return h.find("-hot"); };
    bool same = !parts.empty();
    std::vector<std::string> numbers;
    for (const auto& h : parts) {
      const size_t at = hot(h), start = h.rfind(' ', at);
      if (at == std::string::npos || start == std::string::npos ||
          h.substr(0, start) != parts[0].substr(0, parts[0].rfind(' ', hot(parts[0]))) ||
          h.substr(at) != parts[0].substr(hot(parts[0]))) {
        same = false;
        break;
      }
      numbers.push_back(h.substr(start + 1, at - start - 1));
    }
    if (same) {
      const std::string& h0 = parts[0];
      return h0.substr(0, h0.rfind(' ', hot(h0)) + 1) +
             fmt::format("{}", fmt::join(numbers, ", ")) + h0.substr(hot(h0)) + " (mean)";
    }
    return fmt::format("mean of {}", fmt::join(parts, ", "));
  }
  const auto metric_name = [](const std::string& m) -> std::string {
    if (m == "r2") return "R²";
    if (m == "rel_loss") return "rel. loss";
    if (m == "acc_episode") return "episode acc";
    return m;
  };
  const size_t slash = key.find('/');
  if (slash == std::string::npos) return key;
  const std::string set = key.substr(0, slash), m = key.substr(slash + 1);
  if (set == "id") {
    if (m == "r2") return "id R² OOD";
    if (m == "alignment") return "template alignment";
    if (m.rfind("r2_ood_hot", 0) == 0) return "id R² " + m.substr(10) + "-hot";
    return "id " + m;
  }
  if (set == "test") return "ID " + metric_name(m);
  if (set == "ood") return "OOD " + metric_name(m);
  if (set.rfind("ood_hot", 0) == 0) return "OOD " + set.substr(7) + "-hot " + metric_name(m);
  return set + " " + metric_name(m);
}

// Each section records its group's training time here, for the report's total.
constexpr const char* kTrainingMarker = "<!-- training_s: ";

double training_time(const trainer::ComparedGroup& cg) {
  double s = 0;
  for (const auto& r : cg.runs)
    for (const auto& t : r.trials) s += t.summary.value("wall_time_s", 0.0);
  return s;
}

std::string report_group(const trainer::ComparedGroup& cg, const std::string& provenance,
                         const fs::path& out, const fs::path& report_dir) {
  const trainer::PlanGroup& g = cg.group;
  const auto& runs = cg.runs;
  // Columns present in every run of the group.
  const auto has = [&](const std::string& key) {
    return std::all_of(runs.begin(), runs.end(),
                       [&](const trainer::ComparedRun& r) { return r.has(key); });
  };
  std::vector<std::pair<std::string, std::string>> cols;  // (header, key)
  for (const char* m : {"acc", "acc_episode", "r2", "rel_loss"})
    if (has(std::string("test/") + m)) {
      cols.emplace_back(header_of(std::string("test/") + m), std::string("test/") + m);
      if (has(std::string("ood/") + m))
        cols.emplace_back(header_of(std::string("ood/") + m), std::string("ood/") + m);
    }
  // Model selection: the headline metric of the state with the best validation loss, and how far
  // the runs fell from their peak (collapse is visible, not hidden by the selection).
  const std::string headline = has("ood/" + g.metric) ? "ood/" + g.metric : "";
  // A fall from the peak means something only for metrics where higher is better.
  const bool show_drop = !headline.empty() && g.metric != "loss" && g.metric != "rel_loss";
  if (!headline.empty() && has(headline + "@best"))
    cols.emplace_back(header_of(headline) + ", best state", headline + "@best");
  const nlohmann::json& first_final = runs[0].trials[0].summary["final"];
  std::set<std::string> hot;
  for (const auto& [k, v] : first_final.items())
    if (k.rfind("ood_hot", 0) == 0) hot.insert(k.substr(0, k.find('/')));
  const std::string hot_metric = has("test/r2") ? "r2" : "acc";
  for (const auto& h : hot)
    if (has(h + "/" + hot_metric))
      cols.emplace_back(header_of(h + "/" + hot_metric), h + "/" + hot_metric);
  if (has("id/r2")) {
    // Identification (trainer/identification.h): the exact ridge decoder scored on OOD (with the
    // latent columns it had to leave out), the reference's estimator, the score on ID and OOD
    // together, and two controls: shuffled latents and the untrained initialisation.
    cols.emplace_back("id R² OOD", "id/r2");
    if (has("id/r2_undefined")) cols.emplace_back("id undefined columns", "id/r2_undefined");
    if (has("id/r2_cg")) cols.emplace_back("id R² OOD, reference CG", "id/r2_cg");
    if (has("id/r2_all")) cols.emplace_back("id R² ID ∪ OOD", "id/r2_all");
    if (has("id/r2_shuffled")) cols.emplace_back("id R² shuffled latents", "id/r2_shuffled");
    if (has("id/r2@start")) cols.emplace_back("id R² at step 0", "id/r2@start");
    for (const auto& h : hot)
      if (has("id/r2_" + h)) cols.emplace_back(header_of("id/r2_" + h), "id/r2_" + h);
    if (has("id/alignment")) {
      cols.emplace_back(header_of("id/alignment"), "id/alignment");
      cols.emplace_back("template alignment, worst unit", "id/alignment_min");
    }
  }
  const bool closed = has("closed_test/success");
  const bool expectations =
      std::any_of(runs.begin(), runs.end(), [](const auto& r) { return !r.spec.expect.empty(); });

  std::string body = fmt::format("\n## {}\n\n", g.name);
  if (!g.notes.empty()) body += g.notes + "\n\n";
  body += provenance + "\n\n";

  // The headline: the metric that matters, ID and OOD, closed loop beside the expert,
  // identification; everything else is in the detail table and the CSV.
  std::vector<std::pair<std::string, std::string>> top;
  if (!g.headline.empty()) {
    for (const auto& key : g.headline) top.emplace_back(header_of(key), key);
  } else {
    for (const std::string set : {"test/", "ood/"})
      if (has(set + g.metric)) top.emplace_back(header_of(set + g.metric), set + g.metric);
    if (has("id/r2")) top.emplace_back(header_of("id/r2"), "id/r2");
  }
  body += "| run |";
  if (expectations) body += " expected |";
  for (const auto& c : top) body += " " + c.first + " |";
  if (closed && g.headline.empty()) body += " closed-loop success ID / OOD (expert) |";
  body += "\n|---|";
  if (expectations) body += "---|";
  for (size_t i = 0; i < top.size(); ++i) body += "---|";
  if (closed && g.headline.empty()) body += "---|";
  body += "\n";
  for (const trainer::ComparedRun& r : runs) {
    body += "| " + r.label + " |";
    if (expectations) body += " " + (r.spec.expect.empty() ? "–" : r.spec.expect) + " |";
    for (const auto& c : top) body += " " + cell(r, c.second) + " |";
    if (closed && g.headline.empty())
      body += fmt::format(" {} / {} ({} / {}) |", cell(r, "closed_test/success", 2),
                          cell(r, "closed_ood/success", 2),
                          fmt_value(r.mean("closed_test/expert_success"), 2),
                          fmt_value(r.mean("closed_ood/expert_success"), 2));
    body += "\n";
  }
  if (runs[0].trials.size() > 1)
    body += fmt::format("\nCells are mean ± standard deviation over {} seeds.\n",
                        runs[0].trials.size());
  body += "\nEvery metric of every run:\n\n";
  body += "| run | policy | support | steps | seeds | wall time |";
  for (const auto& c : cols) body += " " + c.first + " |";
  if (closed) body += " closed-loop success ID / OOD (expert) |";
  if (show_drop) body += " drop from peak OOD (worst seed) |";
  body += "\n|---|---|---|---|---|---|";
  for (size_t i = 0; i < cols.size(); ++i) body += "---|";
  if (closed) body += "---|";
  if (show_drop) body += "---|";
  body += "\n";
  std::string csv = "run,policy,support,steps,seed,wall_time_s,config";
  std::vector<std::string> keys;
  for (const auto& [k, v] : first_final.items()) keys.push_back(k);
  for (const auto& k : keys) csv += "," + k;
  csv += "\n";
  for (const trainer::ComparedRun& r : runs) {
    double wall = 0;
    for (const auto& t : r.trials) wall += t.summary.value("wall_time_s", 0.0);
    wall /= static_cast<double>(r.trials.size());
    body += fmt::format("| {} | {} | {} | {} | {} | {} |", r.label, r.policy, r.support,
                        r.trials[0].summary["steps"].get<int64_t>(), seeds_of(r),
                        trainer::format_duration(wall));
    for (const auto& c : cols) body += " " + cell(r, c.second) + " |";
    if (closed)
      body += fmt::format(" {} / {} ({} / {}) |", cell(r, "closed_test/success", 2),
                          cell(r, "closed_ood/success", 2),
                          fmt_value(r.mean("closed_test/expert_success"), 2),
                          fmt_value(r.mean("closed_ood/expert_success"), 2));
    if (show_drop) body += " " + fmt_value(r.worst_drop(headline)) + " |";
    body += "\n";
    for (const trainer::Trial& t : r.trials) {
      csv += fmt::format("{},{},{},{},{},{:.1f},{}", r.label, r.policy, r.support,
                         t.summary["steps"].get<int64_t>(), t.seed,
                         t.summary.value("wall_time_s", 0.0), r.spec.config);
      for (const auto& k : keys) csv += "," + fmt::format("{}", t.value(k));
      csv += "\n";
    }
  }
  body += "\nCommand lines (each run reproduces alone):\n\n";
  for (const trainer::ComparedRun& r : runs) {
    std::string line = "hypercomp train " + shell_word(r.spec.config);
    for (const auto& ov : r.trials[0].overrides)
      if (r.trials.size() < 2 ||
          std::none_of(g.seed_keys.begin(), g.seed_keys.end(),
                       [&](const std::string& k) { return ov.rfind(k + "=", 0) == 0; }))
        line += " " + shell_word(ov);
    if (r.trials.size() > 1) {
      for (const auto& k : g.seed_keys) line += " " + k + "=S";
      line += "  # S in " + seeds_of(r);
    }
    body += fmt::format("- `{}`\n", line);
  }
  atomic_write((out / (g.name + ".csv")).string(), csv);
  const std::string rel = fs::relative(fs::absolute(out), report_dir).string();
  body +=
      fmt::format("\nAll final metrics, one row per seed: [{0}.csv]({1}/{0}.csv).\n", g.name, rel);
#ifdef HYPERCOMP_HAVE_RENDER
  const auto curves = [&](const std::string& metric, const std::string& title,
                          const std::vector<std::pair<std::string, bool>>& sets) {
    render::Plot plot;
    plot.title = title;
    plot.x_label = "outer step";
    plot.y_label = metric;
    for (size_t i = 0; i < runs.size(); ++i)
      for (const auto& [set, dashed] : sets) {
        render::Series s;
        s.label = runs[i].label + " " + (set == "test" ? "ID" : set == "ood" ? "OOD" : set);
        s.color = render::palette(static_cast<int>(i));
        s.dashed = dashed;
        const std::string key = set + "/" + metric;
        // Mean over seeds at each evaluation step, with a band of one standard deviation.
        std::map<double, std::vector<double>> at;
        for (const auto& t : runs[i].trials)
          for (const auto& e : t.evals)
            if (e.contains(key))
              at[e["step"].get<double>()].push_back(e[key].is_number() ? e[key].get<double>()
                                                                       : std::nan(""));
        for (const auto& [step, vs] : at) {
          double m = 0, v = 0;
          for (double x : vs) m += x / vs.size();
          for (double x : vs) v += (x - m) * (x - m);
          s.x.push_back(step);
          s.y.push_back(m);
          if (vs.size() > 1) {
            const double sd = std::sqrt(v / (vs.size() - 1));
            s.lo.push_back(m - sd);
            s.hi.push_back(m + sd);
          }
        }
        if (!s.x.empty()) plot.series.push_back(s);
      }
    if (plot.series.empty()) return;
    const std::string file = fmt::format(
        "{}_{}.png", g.name, metric == "r2" && sets[0].first == "id" ? "identification" : metric);
    render::save_plot(plot, (out / file).string());
    body += fmt::format("\n![{}]({}/{})\n", title, rel, file);
  };
  const std::string band = runs[0].trials.size() > 1 ? "; bands: ± one standard deviation" : "";
  curves(g.metric, g.name + ": " + g.metric + " in-distribution (solid) and OOD (dashed)" + band,
         {{"test", false}, {"ood", true}});
  if (g.metric != "loss")
    curves("loss", g.name + ": query loss in-distribution (solid) and OOD (dashed)" + band,
           {{"test", false}, {"ood", true}});
  if (has("id/r2"))
    curves("r2", g.name + ": identification R² (OOD tasks)" + band, {{"id", false}});
  // How well adaptation fits a task it is shown: a modular learner that has found the modules
  // fits held-out combinations as well as trained ones; a gap that stays open says it has not.
  curves(
      "support_loss_after",
      g.name + ": support loss after adaptation, in-distribution (solid) and OOD (dashed)" + band,
      {{"test", false}, {"ood", true}});

  // Runs with a known answer: each headline metric per run, coloured by what is expected.
  if (expectations)
    for (size_t k = 0; k < top.size(); ++k) {
      const auto& [title, key] = top[k];
      render::IntervalPlot plot;
      plot.title = g.name + ": " + title + " per run" +
                   (runs[0].trials.size() > 1 ? " (mean ± one standard deviation)" : "");
      plot.y_label = title;
      std::vector<std::string> kinds;
      for (const auto& r : runs)
        if (std::find(kinds.begin(), kinds.end(), r.spec.expect) == kinds.end())
          kinds.push_back(r.spec.expect);
      for (size_t i = 0; i < kinds.size(); ++i) {
        render::IntervalSeries series;
        series.label = kinds[i].empty() ? "no expectation" : "expected: " + kinds[i];
        series.color = render::palette(static_cast<int>(i));
        for (const auto& r : runs) {
          const bool mine = r.spec.expect == kinds[i];
          const double m = mine ? r.mean(key) : std::nan("");
          const double sd = mine && r.trials.size() > 1 ? r.stddev(key) : 0.0;
          series.y.push_back(m);
          series.lo.push_back(m - sd);
          series.hi.push_back(m + sd);
        }
        plot.series.push_back(series);
      }
      for (const auto& r : runs) plot.categories.push_back(r.label);
      const std::string file = fmt::format("{}_headline{}.png", g.name, k + 1);
      render::save_interval_plot(plot, (out / file).string());
      body += fmt::format("\n![{}]({}/{})\n", plot.title, rel, file);
    }

  // Series of runs at several budgets: the OOD metric against the budget, on a log axis.
  std::vector<std::string> series_names;
  for (const auto& r : runs)
    if (!r.spec.series.empty() &&
        std::find(series_names.begin(), series_names.end(), r.spec.series) == series_names.end())
      series_names.push_back(r.spec.series);
  if (!series_names.empty() && !headline.empty()) {
    render::Plot plot;
    plot.title = g.name + ": " + header_of(headline) + " (solid) and " +
                 header_of("test/" + g.metric) + " (dashed) against the training budget" + band;
    plot.x_label = "task-episodes trained (outer steps x meta-batch), log scale";
    plot.y_label = g.metric;
    plot.log_x = true;
    for (size_t i = 0; i < series_names.size(); ++i)
      for (const std::string set : {"ood/", "test/"}) {
        render::Series line;
        line.label = series_names[i] + (set == "ood/" ? " OOD" : " ID");
        line.color = render::palette(static_cast<int>(i));
        line.dashed = set == "test/";
        std::map<int64_t, const trainer::ComparedRun*> by_budget;
        for (const auto& r : runs)
          if (r.spec.series == series_names[i]) by_budget[r.trials[0].task_episodes] = &r;
        for (const auto& [budget, r] : by_budget) {
          const double m = r->mean(set + g.metric);
          line.x.push_back(static_cast<double>(budget));
          line.y.push_back(m);
          const double sd = r->trials.size() > 1 ? r->stddev(set + g.metric) : 0.0;
          line.lo.push_back(m - sd);
          line.hi.push_back(m + sd);
        }
        plot.series.push_back(line);
      }
    const std::string file = g.name + "_budget.png";
    render::save_plot(plot, (out / file).string());
    body += fmt::format("\n![{}]({}/{})\n", plot.title, rel, file);
  }
#endif
  return body;
}

}  // namespace

Command add_compare(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare",
      "Train several configs (or a plan of groups) and write a results table and learning curves");
  struct Options {
    std::vector<std::string> inputs;
    std::string out, runs, report, name = "comparison";
    std::vector<std::string> groups;
    bool quiet = false, fresh = false;
    int jobs = 1;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option(
         "inputs", o->inputs,
         "Config files (one group) or one plan file; key=value overrides apply to every run")
      ->required();
  cmd->add_option("--out", o->out,
                  "Output directory of tables and plots (default: runs/compare-<time>)");
  cmd->add_option("--runs", o->runs, "Directory of the training runs (default: OUT/runs)");
  cmd->add_option("--report", o->report, "Markdown report path (default: OUT/results.md)");
  cmd->add_option("--name", o->name, "Group name when configs are given directly");
  cmd->add_option("--group", o->groups,
                  "Train and report only this group of the plan (repeatable); the report keeps "
                  "the other groups' sections as they are");
  cmd->add_flag("--fresh", o->fresh, "Retrain runs even if a finished run exists");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress display for the runs");
  cmd->add_option("--jobs", o->jobs,
                  "Runs trained at once, each in its own process with its config's "
                  "train.threads (e.g. --jobs 2 for runs of one thread on two cores); the "
                  "results are the same as one at a time")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  return [o]() {
    const auto started = std::chrono::system_clock::now();
    std::vector<std::string> files;
    trainer::CompareOptions options;
    for (const auto& s : o->inputs)
      (s.find('=') != std::string::npos ? options.overrides : files).push_back(s);
    if (files.empty()) throw ConfigError("compare: give config files or one plan file");
    const bool is_plan = files.size() == 1 && trainer::is_plan_file(files[0]);
    trainer::Plan plan;
    if (is_plan) {
      plan = trainer::load_plan(files[0]);
    } else if (!o->groups.empty()) {
      throw ConfigError("compare: --group selects groups of a plan file; give one plan file");
    } else {
      trainer::PlanGroup g;
      g.name = o->name;
      for (const auto& f : files) {
        trainer::PlanRun run;
        run.config = f;
        g.runs.push_back(run);
      }
      plan.groups.push_back(g);
    }
    const std::string out =
        o->out.empty() ? fmt::format("runs/compare-{:%Y%m%d-%H%M%S}",
                                     fmt::localtime(std::chrono::system_clock::to_time_t(started)))
                       : o->out;
    fs::create_directories(out);
    const std::string report_path =
        o->report.empty() ? (fs::path(out) / "results.md").string() : o->report;
    const fs::path report_dir = fs::absolute(report_path).parent_path();
    options.runs_root = (o->runs.empty() ? fs::path(out) / "runs" : fs::path(o->runs)).string();
    options.fresh = o->fresh;
    options.quiet = o->quiet;
    if (o->jobs > 1)
      options.train_jobs = [jobs = o->jobs](const std::vector<trainer::TrainJob>& todo) {
        train_in_parallel(todo, jobs);
      };

    std::string command = "hypercomp compare";
    for (const auto& s : o->inputs) command += " " + s;
    if (!o->out.empty()) command += " --out " + o->out;
    if (!o->runs.empty()) command += " --runs " + o->runs;
    if (!o->report.empty()) command += " --report " + o->report;
    if (!is_plan && o->name != "comparison") command += " --name " + o->name;

    // --group: train those groups alone. Their sections replace their old ones; the other
    // groups' sections are kept as an earlier call wrote them, each with its own provenance.
    std::set<std::string> known, chosen(o->groups.begin(), o->groups.end());
    for (const auto& g : plan.groups) known.insert(g.name);
    for (const auto& name : chosen)
      if (!known.count(name))
        throw ConfigError(
            fmt::format("compare: --group '{}' is not a group of '{}' (its groups: {})", name,
                        files[0], fmt::join(known, ", ")));
    trainer::Plan selected = plan;
    if (!chosen.empty())
      std::erase_if(selected.groups, [&](const auto& g) { return !chosen.count(g.name); });

    const trainer::Comparison result = trainer::compare(selected, options);
    // Read after training, which takes hours: another compare of other groups may have written
    // the report meanwhile, and its sections are kept.
    const std::string old_report =
        !chosen.empty() && fs::exists(report_path) ? read_file(report_path) : "";

    const std::string date = fmt::format(
        "{:%Y-%m-%d %H:%M}", fmt::localtime(std::chrono::system_clock::to_time_t(started)));
    std::map<std::string, std::string> sections;  // group -> region contents
    for (const trainer::ComparedGroup& g : result.groups) {
      const double t = training_time(g);
      const std::string provenance = fmt::format(
          "- generated {} by `{}{}`; machine: {}; training time {} (wall, sum over the group's "
          "runs, which are reused while their configuration is unchanged)",
          date, command, chosen.empty() ? "" : " --group " + g.group.name, machine_line(),
          trainer::format_duration(t));
      sections[g.group.name] = fmt::format("\n{}{:.1f} -->\n", kTrainingMarker, t) +
                               report_group(g, provenance, out, report_dir);
    }
    double total = 0;
    std::string body;
    for (const trainer::PlanGroup& g : plan.groups) {
      const Region region("compare", g.name);
      auto it = sections.find(g.name);
      std::string inner;
      if (it != sections.end()) {
        inner = it->second;
      } else if (auto kept = region.in(old_report)) {
        inner = *kept;
      } else {
        inner = fmt::format("\n## {}\n\nNot generated yet: `{} --group {}`.\n", g.name, command,
                            g.name);
      }
      // A kept section's training time is read back from its marker, so the total stays whole.
      const size_t at = inner.find(kTrainingMarker);
      if (at != std::string::npos)
        total += std::atof(inner.c_str() + at + std::strlen(kTrainingMarker));
      body += "\n" + region.wrap(inner) + "\n";
    }

    std::string md = fmt::format("# {}\n\n", plan.title);
    md += "Generated by `hypercomp compare` from real runs; do not edit by hand.\n\n";
    md += fmt::format(
        "- command: `{}` (one group alone: `--group NAME`; each section says "
        "when, where and by which command it was generated)\n",
        command);
    md += fmt::format("- total training time {} (wall, sum over every section's runs)\n",
                      trainer::format_duration(total));
    if (!plan.seeds.empty())
      md += fmt::format(
          "- seeds: {} (every run is trained once per seed, unless its group lists "
          "its own)\n",
          fmt::join(plan.seeds, ", "));
    md +=
        "- metrics: final evaluation of each run; ID = training combinations with fresh data, "
        "OOD = held-out combinations (k-hot: OOD N-hot = untrained tasks whose every group has "
        "exactly N modules); \"best state\" = the evaluation of the state with the lowest "
        "validation loss (best.pt, the reference's model selection); \"drop from peak\" = the "
        "largest fall of the OOD metric from its best evaluation to the end, over the seeds.\n"
        "- identification (id): ridge regression from the adapted task parameters to the true "
        "task latents, fit on ID tasks; R² is the mean over latent columns, scored on OOD tasks "
        "(columns that do not vary there are left out and counted as undefined), with the "
        "reference's estimator (10 conjugate-gradient steps, penalised intercept), and on ID and "
        "OOD tasks together (every column varies, so a module never trained counts); controls: "
        "the decoder fitted on latents shuffled across tasks, and the probe on the untrained "
        "initialisation at step 0 (adaptation alone can make latents linearly decodable, most of "
        "all from the many adapted weights of monolithic learners).\n";
    md += body;
    atomic_write(report_path, md);
    fmt::print(stderr, "report written to {}\n", report_path);
    return 0;
  };
}

}  // namespace hc::app
