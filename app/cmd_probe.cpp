// hypercomp probe: the structural compositionality probe (trainer/probe/) on trained runs, or on
// the control models -- a Markdown report with the verdict per policy, mask target and
// subroutine, CSV tables of every mask and search entry, and a plot of the scores.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>

#include "app/commands.h"
#include "base/io.h"
#include "trainer/probe/controls.h"
#include "trainer/probe/data.h"
#include "trainer/probe/parts.h"
#include "trainer/probe/report.h"
#include "trainer/progress.h"
#ifdef HYPERCOMP_HAVE_RENDER
#include "render/plot.h"
#endif

namespace hc::app {
namespace fs = std::filesystem;
namespace {

struct Options {
  std::vector<std::string> inputs, subroutines, controls;
  std::string config, out, report, name = "results";
  int seeds = 0, control_models = 3, jobs = 1, max_parts = 0;
  bool best = false, quiet = false, control_actions = false;
};

#ifdef HYPERCOMP_HAVE_RENDER
void draw(const probe::ScorePlot& p, const std::string& path) {
  render::IntervalPlot plot;
  plot.title = p.title;
  plot.y_label = p.y_label;
  plot.categories = p.categories;
  const render::Color colors[] = {
      render::palette(0), render::palette(1), {150, 150, 150}, {120, 170, 220}, {235, 150, 140}};
  for (size_t s = 0; s < p.series.size(); ++s)
    plot.series.push_back(
        {p.series[s].label, p.series[s].y, p.series[s].lo, p.series[s].hi, colors[s % 5]});
  render::save_interval_plot(plot, path);
}
#endif

std::string command_line(const Options& o) {
  std::string command = "hypercomp probe";
  for (const auto& s : o.inputs) command += " " + s;
  if (!o.controls.empty()) {
    std::string list;
    for (const auto& c : o.controls) list += (list.empty() ? "" : ",") + c;
    command += " --controls " + list;
    if (o.control_models != 3) command += fmt::format(" --control-models {}", o.control_models);
    if (o.control_actions) command += " --control-actions";
  }
  for (const auto& s : o.subroutines) command += " --subroutine " + s;
  if (o.seeds > 0) command += fmt::format(" --seeds {}", o.seeds);
  if (!o.config.empty()) command += " --config " + o.config;
  if (!o.out.empty()) command += " --out " + o.out;
  if (!o.report.empty()) command += " --report " + o.report;
  if (o.name != "results") command += " --name " + o.name;
  if (o.best) command += " --best";
  if (o.jobs > 1) command += fmt::format(" --jobs {}", o.jobs);
  if (o.max_parts > 0) command += fmt::format(" --max-parts {}", o.max_parts);
  return command;
}

// The probes of trained runs, `jobs` subroutine probes at a time on threads of their own. Each
// part loads its run afresh (a learner is not shared between threads) and probes one
// subroutine for one target; the parts of a run and target are merged in order, to the results
// of one probe() call (search.h): only the times differ. Every finished part is saved in
// `parts_dir` as it lands, and a part saved there for the same run, checkpoint and settings is
// read back instead of probed again (parts.h): an interrupted probe resumes. With
// `o.max_parts`, no more than that many parts are probed; `complete` says whether all are done.
std::vector<probe::ModelProbe> probe_parts(const std::vector<std::string>& dirs,
                                           const std::vector<trainer::LoadedRun>& runs,
                                           const Options& o, const probe::ProbeConfig& config,
                                           const fs::path& parts_dir, int& reused, bool& complete,
                                           const probe::ProbeLog& log) {
  struct Part {
    size_t run;
    probe::MaskTarget target;
    std::string subroutine;
    probe::PartKey key;
    fs::path file;
    bool done = false;
    probe::ModelProbe result;
  };
  std::vector<Part> parts;
  for (size_t i = 0; i < runs.size(); ++i)
    for (probe::MaskTarget target : probe::mask_targets(*runs[i].learner, config.targets))
      for (const tasks::Subroutine& s :
           probe::select_subroutines(*runs[i].config.family, o.subroutines)) {
        Part part{i, target, s.name, {}, {}, false, {}};
        part.key = probe::part_key(dirs[i], runs[i].checkpoint, target, s.name, config);
        part.file = parts_dir / probe::part_file_name(part.key);
        if (std::optional<probe::ModelProbe> saved =
                probe::read_part(part.file.string(), part.key)) {
          part.result = std::move(*saved);
          part.done = true;
          ++reused;
          log(fmt::format("{} [{} mask] {}: finished earlier, read from {}", dirs[i],
                          name_of(target), s.name, part.file.string()));
        } else if (fs::exists(part.file)) {
          log(
              fmt::format("{} [{} mask] {}: {} was saved for another checkpoint or other "
                          "settings; probing it again",
                          dirs[i], name_of(target), s.name, part.file.string()));
        }
        parts.push_back(std::move(part));
      }
  fs::create_directories(parts_dir);
  std::mutex log_mutex;
  const probe::ProbeLog locked = [&](const std::string& line) {
    const std::lock_guard<std::mutex> lock(log_mutex);
    log(line);
  };
  std::atomic<size_t> next{0};
  std::atomic<int> started{0};
  std::vector<std::exception_ptr> errors(parts.size());
  const auto worker = [&]() {
    for (size_t p = next++; p < parts.size(); p = next++) {
      if (parts[p].done) continue;
      if (o.max_parts > 0 && started++ >= o.max_parts) break;
      try {
        trainer::LoadedRun run = trainer::load_run(dirs[parts[p].run], o.best);
        parts[p].result = probe::probe(*run.config.family, probe::probe_model(run), parts[p].target,
                                       config, o.subroutines, locked, {parts[p].subroutine});
        atomic_write(parts[p].file.string(),
                     probe::part_json(parts[p].key, parts[p].result).dump(1));
        parts[p].done = true;
      } catch (...) {
        errors[p] = std::current_exception();
        next = parts.size();  // start no other part
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::min<int>(o.jobs, static_cast<int>(parts.size())); ++t)
    threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);
  complete = std::all_of(parts.begin(), parts.end(), [](const Part& p) { return p.done; });
  if (!complete) return {};

  std::vector<probe::ModelProbe> results;
  for (size_t p = 0; p < parts.size(); ++p) {
    probe::ModelProbe& part = parts[p].result;
    if (p > 0 && parts[p].run == parts[p - 1].run && parts[p].target == parts[p - 1].target) {
      probe::ModelProbe& merged = results.back();
      for (auto& sp : part.probes) merged.probes.push_back(std::move(sp));
      merged.seconds += part.seconds;
    } else {
      results.push_back(std::move(part));
    }
  }
  return results;
}

}  // namespace

Command add_probe(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "probe",
      "Structural compositionality: train weight masks for each subroutine of trained runs (or "
      "of the control models) and test the subnetworks and their ablations against untrained "
      "models and random ablations");
  auto o = std::make_shared<Options>();
  cmd->add_option("runs", o->inputs,
                  "Run directories (one or more, e.g. several seeds and policies of one family), "
                  "then any probe.key=value overrides");
  // One name per occurrence (or a comma-separated list), so that the positional run
  // directories and overrides after it are not taken for names.
  cmd->add_option("--subroutine", o->subroutines,
                  "Probe only this subroutine (repeat, or a,b; default: every one the family "
                  "declares)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--controls", o->controls,
                  "Probe the control models instead of runs: dense, shared, bank, untrained, "
                  "unstructured (a list, or all)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--control-models", o->control_models, "Trained models per control (default 3)")
      ->check(CLI::Range(1, 100));
  cmd->add_flag("--control-actions", o->control_actions,
                "The controls answer with action vectors that their mean already matches within "
                "the tolerance (the lander's case; score them with probe.metric=loss)");
  cmd->add_option("--seeds", o->seeds, "Masks per subroutine (overrides probe.seeds)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--config", o->config, "Probe config file (a `probe` section)");
  cmd->add_option("--out", o->out,
                  "Output directory (default: runs/probe-<time>); finished subroutine probes of "
                  "runs are kept in OUT/parts until the report is written, so that a probe "
                  "interrupted before then resumes when run again with the same --out");
  cmd->add_option("--report", o->report,
                  "Markdown report (default: OUT/probe.md); an existing file is written only "
                  "between its <!-- probe:begin NAME --> and <!-- probe:end NAME --> lines");
  cmd->add_option("--name", o->name, "NAME of the report region (default: results)");
  cmd->add_flag("--best", o->best, "Probe best.pt (lowest valid loss) instead of checkpoint.pt");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress lines");
  cmd->add_option("--jobs", o->jobs,
                  "Subroutine probes of trained runs done at once, on threads of their own (e.g. "
                  "--jobs 2 on two cores for runs of train.threads 1); the results are the same "
                  "as one at a time")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--max-parts", o->max_parts,
                  "Probe at most N subroutine probes of runs in this call, then stop without a "
                  "report, keeping them in OUT/parts: a long probe split into pieces, continued "
                  "by the same command (default: all)")
      ->check(CLI::Range(1, 1000000));
  return [o]() {
    const auto started = std::chrono::system_clock::now();
    std::vector<std::string> dirs, overrides;
    for (const auto& s : o->inputs)
      (s.find('=') != std::string::npos ? overrides : dirs).push_back(s);
    if (dirs.empty() && o->controls.empty())
      throw ConfigError("probe: give at least one run directory, or --controls");
    if (!dirs.empty() && !o->controls.empty())
      throw ConfigError("probe: give run directories or --controls, not both");
    if (o->control_actions && o->controls.empty())
      throw ConfigError("probe: --control-actions is a setting of --controls");
    if (o->max_parts > 0 && !o->controls.empty())
      throw ConfigError("probe: --max-parts splits probes of runs, not of --controls");
    probe::ProbeConfig config = probe::load_probe_config(o->config, overrides);
    if (o->seeds > 0) config.seeds = o->seeds;
    std::vector<probe::ControlKind> controls;
    for (const auto& c : o->controls) {
      if (c == "all") {
        for (const auto& [kind, name] : EnumNames<probe::ControlKind>::values)
          controls.push_back(kind);
        continue;
      }
      probe::ControlKind kind;
      if (!parse_name(c, kind))
        throw ConfigError(fmt::format("--controls: '{}' is not one of {}, all", c,
                                      names_of<probe::ControlKind>()));
      controls.push_back(kind);
    }

    // Everything that can be wrong is checked before the first mask is trained.
    std::vector<trainer::LoadedRun> runs;
    for (const auto& d : dirs) {
      runs.push_back(trainer::load_run(d, o->best));
      // What is refused is refused for a run: say which, among several.
      try {
        probe::select_subroutines(*runs.back().config.family, o->subroutines);
        probe::mask_targets(*runs.back().learner, config.targets);
      } catch (const ConfigError& e) {
        throw ConfigError(fmt::format("run '{}': {}", d, e.what()));
      } catch (const Error& e) {
        throw Error(fmt::format("run '{}': {}", d, e.what()));
      }
    }
    const std::string out =
        o->out.empty() ? fmt::format("runs/probe-{:%Y%m%d-%H%M%S}",
                                     fmt::localtime(std::chrono::system_clock::to_time_t(started)))
                       : o->out;
    fs::create_directories(out);
    const probe::ReportFile report(
        o->report.empty() ? (fs::path(out) / "probe.md").string() : o->report, o->name);
    atomic_write((fs::path(out) / "probe.yaml").string(),
                 to_yaml(probe::probe_config_yaml(config)));

    const auto t0 = std::chrono::steady_clock::now();
    const auto log = [&](const std::string& line) {
      if (o->quiet) return;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      fmt::print(stderr, "[{}] {}\n", trainer::format_duration(s), line);
    };
    std::vector<probe::ModelProbe> results;
    int reused = 0;
    bool complete = true;
    if (!runs.empty())
      results = probe_parts(dirs, runs, *o, config, fs::path(out) / "parts", reused, complete, log);
    if (!complete) {
      log(fmt::format(
          "stopped after {} subroutine probe(s) (--max-parts); the finished ones are in {}: run "
          "the same command again to continue",
          o->max_parts, (fs::path(out) / "parts").string()));
      return 0;
    }
    for (probe::ControlKind kind : controls)
      for (int i = 0; i < o->control_models; ++i) {
        probe::ControlConfig cc;
        cc.actions = o->control_actions;
        const probe::Control c = probe::make_control(kind, cc, 2023 + static_cast<uint64_t>(i));
        log(fmt::format("control {} trained", c.model().label));
        for (probe::MaskTarget target : probe::mask_targets(*c.learner, config.targets))
          results.push_back(probe::probe(*c.family, c.model(), target, config, {}, log));
      }

    probe::ReportHeader header;
    header.command = command_line(*o);
    header.machine = machine_line();
    header.generated = fmt::format("{:%Y-%m-%d %H:%M}",
                                   fmt::localtime(std::chrono::system_clock::to_time_t(started)));
    header.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    header.reused = reused;
    probe::DrawPlot plot;
#ifdef HYPERCOMP_HAVE_RENDER
    plot = draw;
#endif
    report.write(probe::report_markdown(results, config, header, out,
                                        fs::absolute(report.path()).parent_path(), plot));
    // The parts were kept for a resumption; the report now holds them.
    fs::remove_all(fs::path(out) / "parts");
    if (!o->quiet)
      fmt::print(stderr, "report written to {} (tables and plots in {})\n", report.path(), out);
    return 0;
  };
}

}  // namespace hc::app
