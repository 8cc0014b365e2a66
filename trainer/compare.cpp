#include "trainer/compare.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "base/config.h"
#include "base/io.h"
#include "trainer/config.h"
#include "trainer/run.h"

namespace hc::trainer {
namespace fs = std::filesystem;
namespace {

std::string scalar(const YAML::Node& n, const std::string& file, const std::string& key) {
  if (!n.IsScalar())
    throw ConfigError(fmt::format("{}:{}: {}: expected a string, got {}", file, n.Mark().line + 1,
                                  key, n.IsSequence() ? "a list" : "a mapping"));
  return n.Scalar();
}

void require_keys(const YAML::Node& n, const std::string& file, const std::string& where,
                  std::initializer_list<const char*> known) {
  if (!n.IsMap())
    throw ConfigError(fmt::format("{}:{}: {}: expected a mapping", file, n.Mark().line + 1, where));
  for (const auto& kv : n) {
    if (!kv.first.IsScalar())
      throw ConfigError(fmt::format("{}:{}: {}: keys must be plain names", file,
                                    kv.first.Mark().line + 1, where));
    const std::string key = kv.first.Scalar();
    if (std::none_of(known.begin(), known.end(), [&](const char* k) { return key == k; }))
      throw ConfigError(fmt::format("{}:{}: unknown key '{}' in {} (known: {})", file,
                                    kv.first.Mark().line + 1, key, where, fmt::join(known, ", ")));
  }
}

std::vector<uint64_t> read_seeds(const YAML::Node& seeds, const std::string& path) {
  std::vector<uint64_t> out;
  if (!seeds.IsSequence() || seeds.size() == 0)
    throw ConfigError(fmt::format("{}:{}: seeds: expected a non-empty list of integers", path,
                                  seeds.Mark().line + 1));
  for (const auto& s : seeds) {
    try {
      out.push_back(s.as<uint64_t>());
    } catch (const YAML::Exception&) {
      throw ConfigError(fmt::format("{}:{}: seeds: expected non-negative integers, got '{}'", path,
                                    s.Mark().line + 1, s.IsScalar() ? s.Scalar() : "?"));
    }
  }
  if (std::set<uint64_t>(out.begin(), out.end()).size() != out.size())
    throw ConfigError(
        fmt::format("{}:{}: seeds: a seed is listed twice", path, seeds.Mark().line + 1));
  return out;
}

}  // namespace

bool is_plan_file(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  return root.IsMap() && root["groups"];
}

Plan load_plan(const std::string& path) {
  const YAML::Node root = load_yaml_file(path);
  Plan plan;
  if (!root.IsMap() || !root["groups"] || !root["groups"].IsSequence())
    throw ConfigError(fmt::format("{}: expected a plan with a 'groups' list", path));
  require_keys(root, path, "the plan", {"title", "seeds", "groups"});
  if (root["title"]) plan.title = scalar(root["title"], path, "title");
  if (const YAML::Node seeds = root["seeds"]) plan.seeds = read_seeds(seeds, path);
  for (const auto& g : root["groups"]) {
    require_keys(g, path, "a group",
                 {"name", "metric", "notes", "seeds", "seed_keys", "headline", "runs"});
    PlanGroup group;
    if (g["seeds"]) group.seeds = read_seeds(g["seeds"], path);
    const auto strings = [&](const YAML::Node& list, const char* key) {
      if (!list.IsSequence() || list.size() == 0)
        throw ConfigError(
            fmt::format("{}:{}: {}: expected a non-empty list", path, list.Mark().line + 1, key));
      std::vector<std::string> out;
      for (const auto& item : list) out.push_back(scalar(item, path, key));
      return out;
    };
    if (g["seed_keys"]) {
      group.seed_keys = strings(g["seed_keys"], "seed_keys");
      for (const auto& k : group.seed_keys)
        if (k.find('.') == std::string::npos || k.find('=') != std::string::npos)
          throw ConfigError(
              fmt::format("{}:{}: seed_keys: expected config keys such as "
                          "train.seed, got '{}'",
                          path, g["seed_keys"].Mark().line + 1, k));
    }
    if (g["headline"]) group.headline = strings(g["headline"], "headline");
    if (g["name"]) group.name = scalar(g["name"], path, "name");
    if (g["metric"]) group.metric = scalar(g["metric"], path, "metric");
    if (g["notes"]) group.notes = scalar(g["notes"], path, "notes");
    if (g["runs"]) {
      if (!g["runs"].IsSequence())
        throw ConfigError(
            fmt::format("{}:{}: runs: expected a list", path, g["runs"].Mark().line + 1));
      for (const auto& r : g["runs"]) {
        PlanRun spec;
        if (r.IsScalar()) {
          spec.config = r.Scalar();
        } else {
          require_keys(r, path, "a run", {"config", "label", "overrides", "expect", "series"});
          if (r["config"]) spec.config = scalar(r["config"], path, "config");
          if (r["label"]) spec.label = scalar(r["label"], path, "label");
          if (r["expect"]) spec.expect = scalar(r["expect"], path, "expect");
          if (r["series"]) spec.series = scalar(r["series"], path, "series");
          if (r["overrides"])
            for (const auto& o : r["overrides"])
              spec.overrides.push_back(scalar(o, path, "overrides"));
        }
        if (spec.config.empty())
          throw ConfigError(fmt::format("{}:{}: a run needs a config", path, r.Mark().line + 1));
        group.runs.push_back(spec);
      }
    }
    if (group.name.empty() || group.runs.empty())
      throw ConfigError(
          fmt::format("{}:{}: a group needs a name and runs", path, g.Mark().line + 1));
    if (group.metric != "acc" && group.metric != "r2" && group.metric != "loss" &&
        group.metric != "rel_loss")
      throw ConfigError(
          fmt::format("{}: group {}: metric: expected acc, r2, loss or rel_loss, got '{}'", path,
                      group.name, group.metric));
    // The headline table has at most 8 columns: the run, its expectation and six metrics.
    if (group.headline.size() > 6)
      throw ConfigError(fmt::format("{}:{}: headline: at most 6 metrics, got {}", path,
                                    g["headline"].Mark().line + 1, group.headline.size()));
    plan.groups.push_back(group);
  }
  return plan;
}

double Trial::value(const std::string& key) const {
  if (key.rfind("mean(", 0) == 0 && key.back() == ')') {
    double sum = 0;
    int n = 0;
    std::stringstream list(key.substr(5, key.size() - 6));
    for (std::string part; std::getline(list, part, ',');) {
      part.erase(0, part.find_first_not_of(' '));
      part.erase(part.find_last_not_of(' ') + 1);
      sum += value(part);
      ++n;
    }
    return n ? sum / n : std::nan("");
  }
  const auto number = [](const nlohmann::json& record, const std::string& k) {
    return record.contains(k) && record[k].is_number() ? record[k].get<double>() : std::nan("");
  };
  const size_t at = key.find('@');
  if (at == std::string::npos)
    return summary.contains("final") ? number(summary["final"], key) : std::nan("");
  const std::string k = key.substr(0, at), when = key.substr(at + 1);
  if (when == "start") return evals.empty() ? std::nan("") : number(evals.front(), k);
  if (when == "best") {
    // The evaluation of the state with the lowest validation loss (the one saved as best.pt).
    const int64_t best = summary.value("best_step", int64_t{-1});
    for (const auto& e : evals)
      if (e.value("step", int64_t{-2}) == best) return number(e, k);
    return std::nan("");
  }
  if (when == "peak") {
    double peak = std::nan("");
    for (const auto& e : evals) {
      const double v = number(e, k);
      if (std::isfinite(v) && !(v <= peak)) peak = v;
    }
    return peak;
  }
  throw Error(fmt::format("unknown metric qualifier '@{}' in '{}': expected start, best or peak",
                          when, key));
}

bool ComparedRun::has(const std::string& key) const {
  return !trials.empty() && std::all_of(trials.begin(), trials.end(), [&](const Trial& t) {
    return std::isfinite(t.value(key));
  });
}

double ComparedRun::mean(const std::string& key) const {
  double s = 0;
  for (const Trial& t : trials) s += t.value(key);
  return trials.empty() ? std::nan("") : s / static_cast<double>(trials.size());
}

double ComparedRun::worst_drop(const std::string& key) const {
  double worst = 0;
  for (const Trial& t : trials) worst = std::max(worst, t.value(key + "@peak") - t.value(key));
  return worst;
}

double ComparedRun::stddev(const std::string& key) const {
  if (trials.size() < 2) return std::nan("");
  const double m = mean(key);
  double s = 0;
  for (const Trial& t : trials) s += (t.value(key) - m) * (t.value(key) - m);
  return std::sqrt(s / static_cast<double>(trials.size() - 1));
}

Comparison compare(const Plan& plan, const CompareOptions& o) {
  Comparison out;
  // A group's own seeds replace the plan's; no seeds: each run once, with its config's seed.
  const auto seeds_of = [&](const PlanGroup& g) { return g.seeds.empty() ? plan.seeds : g.seeds; };
  size_t total = 0, done = 0;
  for (const auto& g : plan.groups)
    total += g.runs.size() * std::max<size_t>(1, seeds_of(g).size());
  // Every trial first, so that a configuration error stops the comparison before any training;
  // then the finished runs are checked, the others trained, and every result read.
  struct Visit {
    TrainJob job;
    RunConfig config;  // the trial's resolved configuration, to read its summary
    bool finished_before = false;
    size_t group = 0, run = 0, trial = 0;
  };
  std::vector<Visit> visits;
  for (const PlanGroup& g : plan.groups) {
    const std::vector<uint64_t> listed = seeds_of(g);
    const std::vector<uint64_t> seeds = listed.empty() ? std::vector<uint64_t>{0} : listed;
    ComparedGroup group{g, {}};
    std::set<std::string> labels;
    for (const PlanRun& spec : g.runs) {
      std::vector<std::string> base = spec.overrides;
      base.insert(base.end(), o.overrides.begin(), o.overrides.end());
      const RunConfig cfg = load_run_config(spec.config, base);
      ComparedRun r;
      r.spec = spec;
      r.policy = std::string(name_of(cfg.policy.name)) +
                 (cfg.learner.name == LearnerKind::kImitation ? " (imitation)" : "");
      r.support = std::string(tasks::to_string(cfg.family->split_spec().support));
      r.label = spec.label.empty() ? name_of(cfg.policy.name) : spec.label;
      for (int i = 2; labels.count(r.label); ++i) r.label = fmt::format("{}-{}", r.label, i);
      labels.insert(r.label);
      for (uint64_t seed : seeds) {
        Trial t;
        t.overrides = base;
        fs::path dir = fs::path(o.runs_root) / g.name / r.label;
        if (!listed.empty()) {
          for (const auto& key : g.seed_keys)
            t.overrides.push_back(fmt::format("{}={}", key, seed));
          dir /= fmt::format("seed{}", seed);
        }
        t.dir = dir.string();
        RunConfig trial_cfg = load_run_config(spec.config, t.overrides);
        t.seed = trial_cfg.train.seed;
        t.task_episodes = trial_cfg.train.steps * trial_cfg.learner.meta_batch;
        const std::string resolved = to_yaml(trial_cfg.to_yaml());
        const fs::path cfg_file = dir / "config.yaml";
        const bool same = fs::exists(cfg_file) && same_run_config(read_file(cfg_file.string()),
                                                                  resolved, cfg_file.string());
        if (fs::exists(dir) && (!same || o.fresh)) {
          if (!o.fresh && fs::exists(cfg_file))
            throw Error(fmt::format(
                "'{}' holds a run of another configuration; remove it or use --fresh", t.dir));
          fs::remove_all(dir);
        }
        ++done;
        Visit v;
        v.job.which = fmt::format("[{}/{}] {} / {}{}", done, total, g.name, r.label,
                                  listed.empty() ? "" : fmt::format(" seed {}", seed));
        v.finished_before = fs::exists(dir / "summary.json");
        v.job.options.quiet = o.quiet;
        if (fs::exists(cfg_file)) {
          v.job.options.resume = t.dir;
        } else {
          v.job.options.config = spec.config;
          v.job.options.overrides = t.overrides;
          v.job.options.run_dir = t.dir;
        }
        v.group = out.groups.size();
        v.run = group.runs.size();
        v.trial = r.trials.size();
        v.config = std::move(trial_cfg);
        visits.push_back(std::move(v));
        r.trials.push_back(std::move(t));
      }
      group.runs.push_back(std::move(r));
    }
    out.groups.push_back(std::move(group));
  }

  const auto train_here = [](const TrainJob& job) {
    try {
      return train(job.options);
    } catch (const ConfigError&) {
      throw;
    } catch (const Error& e) {
      const std::string& dir =
          job.options.resume.empty() ? job.options.run_dir : job.options.resume;
      throw Error(fmt::format("{} ({}): {}", job.which, dir, e.what()));
    }
  };
  // A finished run is reused only after resume has checked it (trainer/run.h): quick, here.
  std::vector<TrainJob> pending;
  for (const Visit& v : visits) {
    if (!v.finished_before) {
      pending.push_back(v.job);
      continue;
    }
    const RunResult result = train_here(v.job);
    fmt::print(stderr, "{}: {}\n", v.job.which,
               result.finished_earlier ? "finished earlier, reused"
                                       : "finished earlier, finished again from its last "
                                         "checkpoint");
  }
  if (o.train_jobs && !pending.empty()) {
    o.train_jobs(pending);
  } else {
    for (const TrainJob& job : pending) {
      fmt::print(stderr, "{}: {}\n", job.which,
                 job.options.resume.empty() ? "training" : "resuming");
      train_here(job);
    }
  }
  for (const Visit& v : visits) {
    Trial& t = out.groups[v.group].runs[v.run].trials[v.trial];
    t.summary = read_summary(t.dir, v.config);
    for (auto& j : read_json_lines((fs::path(t.dir) / "metrics.jsonl").string()))
      if (j["kind"] == "eval") t.evals.push_back(std::move(j));
  }
  return out;
}

}  // namespace hc::trainer
