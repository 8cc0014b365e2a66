// hypercomp compare: train several configurations and report them side by side -- a Markdown
// and CSV table of final metrics, and learning curves (PNG) of in-distribution vs OOD metrics.
//
// Input: config files (one group), or a plan file with groups:
//   title: ...
//   groups:
//     - name: compositional_goals
//       metric: acc                 # curves of test/<metric> (solid) and ood/<metric> (dashed)
//       notes: free text shown under the group's heading
//       runs:
//         - configs/quick/goals_hnet_linear.yaml
//         - {config: configs/quick/hyperteacher.yaml, label: connected,
//            overrides: [family.support=connected]}
// Finished runs whose configuration is unchanged are reused; unfinished ones are resumed.
#include <dlfcn.h>
#include <fmt/chrono.h>
#include <fmt/format.h>
#include <sys/utsname.h>
#include <torch/version.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "app/commands.h"
#include "base/io.h"
#include "trainer/progress.h"
#include "trainer/run.h"
#ifdef HYPERCOMP_HAVE_RENDER
#include "render/plot.h"
#endif

namespace hc::app {
namespace fs = std::filesystem;
namespace {

struct RunSpec {
  std::string config, label;
  std::vector<std::string> overrides;
};

struct Group {
  std::string name, metric = "acc", notes;
  std::vector<RunSpec> runs;
};

struct Plan {
  std::string title = "hypercomp comparison";
  std::vector<Group> groups;
};

std::string scalar(const YAML::Node& n, const std::string& file, const std::string& key) {
  if (!n.IsScalar())
    throw ConfigError(fmt::format("{}:{}: {}: expected a string", file, n.Mark().line + 1, key));
  return n.Scalar();
}

Plan load_plan(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  Plan plan;
  if (!root.IsMap() || !root["groups"] || !root["groups"].IsSequence())
    throw ConfigError(fmt::format("{}: expected a plan with a 'groups' list", path));
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    if (key != "title" && key != "groups")
      throw ConfigError(fmt::format("{}:{}: unknown key '{}' (known keys: title, groups)", path,
                                    kv.first.Mark().line + 1, key));
  }
  if (root["title"]) plan.title = scalar(root["title"], path, "title");
  for (const auto& g : root["groups"]) {
    Group group;
    for (const auto& kv : g) {
      const std::string key = kv.first.as<std::string>();
      if (key == "name")
        group.name = scalar(kv.second, path, "name");
      else if (key == "metric")
        group.metric = scalar(kv.second, path, "metric");
      else if (key == "notes")
        group.notes = scalar(kv.second, path, "notes");
      else if (key == "runs") {
        for (const auto& r : kv.second) {
          RunSpec spec;
          if (r.IsScalar()) {
            spec.config = r.Scalar();
          } else {
            for (const auto& rk : r) {
              const std::string k = rk.first.as<std::string>();
              if (k == "config")
                spec.config = scalar(rk.second, path, k);
              else if (k == "label")
                spec.label = scalar(rk.second, path, k);
              else if (k == "overrides")
                for (const auto& o : rk.second) spec.overrides.push_back(scalar(o, path, k));
              else
                throw ConfigError(
                    fmt::format("{}:{}: unknown key '{}' in a run (known: config, "
                                "label, overrides)",
                                path, rk.first.Mark().line + 1, k));
            }
          }
          if (spec.config.empty())
            throw ConfigError(fmt::format("{}:{}: a run needs a config", path, r.Mark().line + 1));
          group.runs.push_back(spec);
        }
      } else {
        throw ConfigError(
            fmt::format("{}:{}: unknown key '{}' in a group (known: name, metric, "
                        "notes, runs)",
                        path, kv.first.Mark().line + 1, key));
      }
    }
    if (group.name.empty() || group.runs.empty())
      throw ConfigError(
          fmt::format("{}:{}: a group needs a name and runs", path, g.Mark().line + 1));
    if (group.metric != "acc" && group.metric != "r2" && group.metric != "loss")
      throw ConfigError(fmt::format("{}: group {}: metric: expected acc, r2 or loss, got '{}'",
                                    path, group.name, group.metric));
    plan.groups.push_back(group);
  }
  return plan;
}

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

std::string fmt_value(double v, int digits = 3) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "–";
}

struct RunResult {
  RunSpec spec;
  std::string dir, label, policy, support;
  nlohmann::json summary;
  std::vector<nlohmann::json> evals;
  double value(const std::string& key) const {
    // "<key>@start": the value at the first evaluation (before any outer step).
    const size_t at = key.find("@start");
    if (at != std::string::npos) {
      const std::string k = key.substr(0, at);
      return !evals.empty() && evals.front().contains(k) && evals.front()[k].is_number()
                 ? evals.front()[k].get<double>()
                 : std::nan("");
    }
    const auto& f = summary["final"];
    return f.contains(key) && f[key].is_number() ? f[key].get<double>() : std::nan("");
  }
};

}  // namespace

Command add_compare(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "compare",
      "Train several configs (or a plan of groups) and write a results table and learning curves");
  struct Options {
    std::vector<std::string> inputs;
    std::string out, runs, report, name = "comparison";
    bool quiet = false, fresh = false;
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
  cmd->add_flag("--fresh", o->fresh, "Retrain runs even if a finished run exists");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress display for the runs");
  return [o]() {
    const auto started = std::chrono::system_clock::now();
    std::vector<std::string> files, overrides;
    for (const auto& s : o->inputs)
      (s.find('=') != std::string::npos ? overrides : files).push_back(s);
    Plan plan;
    bool is_plan = false;
    if (files.size() == 1) {
      const YAML::Node root = load_yaml_file(files[0]);
      is_plan = root.IsMap() && root["groups"];
    }
    if (is_plan) {
      plan = load_plan(files[0]);
    } else {
      Group g;
      g.name = o->name;
      for (const auto& f : files) g.runs.push_back({f, "", {}});
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

    std::string command = "hypercomp compare";
    for (const auto& s : o->inputs) command += " " + s;
    if (!o->out.empty()) command += " --out " + o->out;
    if (!o->runs.empty()) command += " --runs " + o->runs;
    const fs::path runs_root = o->runs.empty() ? fs::path(out) / "runs" : fs::path(o->runs);
    if (!o->report.empty()) command += " --report " + o->report;
    if (!is_plan && o->name != "comparison") command += " --name " + o->name;

    size_t total = 0, done = 0;
    for (const auto& g : plan.groups) total += g.runs.size();
    std::string md = fmt::format("# {}\n\n", plan.title);
    md += "Generated by `hypercomp compare` from real runs; do not edit by hand.\n\n";
    md += fmt::format("- command: `{}`\n", command);
    md += fmt::format("- machine: {}\n", machine_line());
    const std::string started_line = fmt::format(
        "{:%Y-%m-%d %H:%M}", fmt::localtime(std::chrono::system_clock::to_time_t(started)));

    std::string body;
    double wall_total = 0;
    for (const Group& g : plan.groups) {
      std::vector<RunResult> results;
      std::set<std::string> labels;
      for (const RunSpec& spec : g.runs) {
        std::vector<std::string> ov = spec.overrides;
        ov.insert(ov.end(), overrides.begin(), overrides.end());
        const trainer::RunConfig cfg = trainer::load_run_config(spec.config, ov);
        RunResult r;
        r.spec = spec;
        r.policy = std::string(name_of(cfg.policy.name)) +
                   (cfg.learner.name == trainer::LearnerKind::kImitation ? " (imitation)" : "");
        r.support = cfg.family->split_spec().support == tasks::Support::kRandom
                        ? "random"
                        : std::string(tasks::to_string(cfg.family->split_spec().support));
        r.label = spec.label.empty() ? name_of(cfg.policy.name) : spec.label;
        for (int i = 2; labels.count(r.label); ++i) r.label = fmt::format("{}-{}", r.label, i);
        labels.insert(r.label);
        r.dir = (runs_root / g.name / r.label).string();
        const std::string resolved = to_yaml(cfg.to_yaml());
        const fs::path cfg_file = fs::path(r.dir) / "config.yaml";
        const bool same = fs::exists(cfg_file) && read_file(cfg_file.string()) == resolved;
        if (fs::exists(r.dir) && (!same || o->fresh)) {
          if (!o->fresh && fs::exists(fs::path(r.dir) / "config.yaml"))
            throw Error(
                fmt::format("'{}' holds a run of another configuration; remove it or use "
                            "--fresh",
                            r.dir));
          fs::remove_all(r.dir);
        }
        ++done;
        fmt::print(stderr, "[{}/{}] {} / {}: {}\n", done, total, g.name, r.label,
                   fs::exists(fs::path(r.dir) / "summary.json") ? "finished earlier, reused"
                   : fs::exists(cfg_file)                       ? "resuming"
                                                                : "training");
        trainer::TrainOptions t;
        t.quiet = o->quiet;
        if (fs::exists(cfg_file)) {
          t.resume = r.dir;
        } else {
          t.config = spec.config;
          t.overrides = ov;
          t.run_dir = r.dir;
        }
        trainer::train(t);
        r.summary = nlohmann::json::parse(read_file((fs::path(r.dir) / "summary.json").string()));
        std::ifstream in(fs::path(r.dir) / "metrics.jsonl");
        for (std::string line; std::getline(in, line);) {
          auto j = nlohmann::json::parse(line);
          if (j["kind"] == "eval") r.evals.push_back(j);
        }
        wall_total += r.summary.value("wall_time_s", 0.0);
        results.push_back(std::move(r));
      }

      // Columns present in every run of the group.
      const auto has = [&](const std::string& key) {
        return std::all_of(results.begin(), results.end(),
                           [&](const RunResult& r) { return std::isfinite(r.value(key)); });
      };
      std::vector<std::pair<std::string, std::string>> cols;  // (header, key)
      for (const char* m : {"acc", "acc_episode", "r2"})
        if (has(std::string("test/") + m)) {
          const std::string name = std::string(m) == "acc"  ? "acc"
                                   : std::string(m) == "r2" ? "R²"
                                                            : "episode acc";
          cols.emplace_back("ID " + name, std::string("test/") + m);
          if (has(std::string("ood/") + m))
            cols.emplace_back("OOD " + name, std::string("ood/") + m);
        }
      std::set<std::string> hot;
      for (const auto& [k, v] : results[0].summary["final"].items())
        if (k.rfind("ood_hot", 0) == 0) hot.insert(k.substr(0, k.find('/')));
      const std::string hot_metric = has("test/r2") ? "r2" : "acc";
      for (const auto& h : hot)
        if (has(h + "/" + hot_metric))
          cols.emplace_back("OOD " + h.substr(7) + "-hot " + (hot_metric == "r2" ? "R²" : "acc"),
                            h + "/" + hot_metric);
      if (has("id/r2")) {
        cols.emplace_back("identification R²", "id/r2");
        // The same probe on the untrained initialisation: what linear decoding gives for free.
        if (has("id/r2@start")) cols.emplace_back("identification R² at step 0", "id/r2@start");
      }
      const bool closed = has("closed_test/success");

      body += fmt::format("\n## {}\n\n", g.name);
      if (!g.notes.empty()) body += g.notes + "\n\n";
      body += "| run | policy | support | steps | seed | wall time |";
      for (const auto& c : cols) body += " " + c.first + " |";
      if (closed) body += " closed-loop success ID / OOD (expert) |";
      body += "\n|---|---|---|---|---|---|";
      for (size_t i = 0; i < cols.size(); ++i) body += "---|";
      if (closed) body += "---|";
      body += "\n";
      std::string csv = "run,policy,support,steps,seed,wall_time_s,config";
      std::vector<std::string> keys;
      for (const auto& [k, v] : results[0].summary["final"].items()) keys.push_back(k);
      for (const auto& k : keys) csv += "," + k;
      csv += "\n";
      for (const RunResult& r : results) {
        const double wall = r.summary.value("wall_time_s", 0.0);
        body += fmt::format("| {} | {} | {} | {} | {} | {} |", r.label, r.policy, r.support,
                            r.summary["steps"].get<int64_t>(), r.summary["seed"].get<uint64_t>(),
                            trainer::format_duration(wall));
        for (const auto& c : cols) body += " " + fmt_value(r.value(c.second)) + " |";
        if (closed)
          body += fmt::format(" {} / {} ({} / {}) |", fmt_value(r.value("closed_test/success"), 2),
                              fmt_value(r.value("closed_ood/success"), 2),
                              fmt_value(r.value("closed_test/expert_success"), 2),
                              fmt_value(r.value("closed_ood/expert_success"), 2));
        body += "\n";
        csv += fmt::format("{},{},{},{},{},{:.1f},{}", r.label, r.policy, r.support,
                           r.summary["steps"].get<int64_t>(), r.summary["seed"].get<uint64_t>(),
                           wall, r.spec.config);
        for (const auto& k : keys) csv += "," + fmt::format("{}", r.value(k));
        csv += "\n";
      }
      body += "\nCommand lines (each run reproduces alone):\n\n";
      for (const RunResult& r : results) {
        std::string line = "hypercomp train " + r.spec.config;
        for (const auto& ov : r.spec.overrides) line += " " + ov;
        for (const auto& ov : overrides) line += " " + ov;
        body += fmt::format("- `{}`\n", line);
      }
      atomic_write((fs::path(out) / (g.name + ".csv")).string(), csv);
      body += fmt::format("\nAll final metrics: [{0}.csv]({1}/{0}.csv).\n", g.name,
                          fs::relative(fs::absolute(out), report_dir).string());
#ifdef HYPERCOMP_HAVE_RENDER
      const auto curves = [&](const std::string& metric, const std::string& title,
                              const std::vector<std::pair<std::string, bool>>& sets) {
        render::Plot plot;
        plot.title = title;
        plot.x_label = "outer step";
        plot.y_label = metric;
        for (size_t i = 0; i < results.size(); ++i)
          for (const auto& [set, dashed] : sets) {
            render::Series s;
            s.label = results[i].label + " " + (set == "test" ? "ID" : set == "ood" ? "OOD" : set);
            s.color = render::palette(static_cast<int>(i));
            s.dashed = dashed;
            for (const auto& e : results[i].evals) {
              const std::string key = set + "/" + metric;
              if (!e.contains(key)) continue;
              s.x.push_back(e["step"].get<double>());
              s.y.push_back(e[key].is_number() ? e[key].get<double>() : std::nan(""));
            }
            if (!s.x.empty()) plot.series.push_back(s);
          }
        if (plot.series.empty()) return;
        const std::string file =
            fmt::format("{}_{}.png", g.name,
                        metric == "r2" && sets[0].first == "id" ? "identification" : metric);
        render::save_plot(plot, (fs::path(out) / file).string());
        body += fmt::format("\n![{}]({}/{})\n", title,
                            fs::relative(fs::absolute(out), report_dir).string(), file);
      };
      curves(g.metric, g.name + ": " + g.metric + " in-distribution (solid) and OOD (dashed)",
             {{"test", false}, {"ood", true}});
      if (g.metric != "loss")
        curves("loss", g.name + ": query loss in-distribution (solid) and OOD (dashed)",
               {{"test", false}, {"ood", true}});
      if (has("id/r2")) curves("r2", g.name + ": identification R² (OOD tasks)", {{"id", false}});
#endif
    }
    md += fmt::format(
        "- generated {}; total training time {} (wall, sum over the runs, which are reused while "
        "their configuration is unchanged)\n",
        started_line, trainer::format_duration(wall_total));
    md +=
        "- metrics: final evaluation of each run; ID = training combinations with fresh data, "
        "OOD = held-out combinations (k-hot: combinations of more modules than trained); "
        "identification R² = ridge regression from the adapted task parameters to the true "
        "task latents, fit on ID tasks, scored on OOD tasks; \"at step 0\" is the same probe on "
        "the untrained initialisation (adaptation alone can make the latents linearly decodable, "
        "most of all from the many adapted weights of monolithic learners).\n";
    atomic_write(report_path, md + body);
    fmt::print(stderr, "report written to {}\n", report_path);
    return 0;
  };
}

}  // namespace hc::app
