// hypercomp probe: the structural compositionality probe (trainer/probe.h) on trained runs -- a
// Markdown report with a verdict per policy, mask target and subroutine beside the random
// controls, CSV tables of every mask and of the search, and a plot of the scores with their
// intervals.
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

#include "app/commands.h"
#include "base/io.h"
#include "trainer/probe.h"
#include "trainer/progress.h"
#ifdef HYPERCOMP_HAVE_RENDER
#include "render/plot.h"
#endif

namespace hc::app {
namespace fs = std::filesystem;
namespace {

using trainer::Interval;
using trainer::MaskTarget;
using trainer::ModelProbe;
using trainer::ScoredMask;
using trainer::SubroutineProbe;
using trainer::Verdict;

std::string num(double v, int digits = 3) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "–";
}
std::string signed_num(double v) { return std::isfinite(v) ? fmt::format("{:+.3f}", v) : "–"; }
std::string interval(const Interval& iv) {
  if (iv.n == 0 || !std::isfinite(iv.mean)) return "–";
  if (iv.n == 1) return signed_num(iv.mean);
  return fmt::format("{} [{}, {}]", signed_num(iv.mean), signed_num(iv.lo), signed_num(iv.hi));
}
bool modular(const std::string& policy) { return policy.rfind("hnet", 0) == 0; }

double mean_other(const std::vector<double>& acc, size_t target) {
  double s = 0.0;
  for (size_t j = 0; j < acc.size(); ++j)
    if (j != target) s += acc[j];
  return s / static_cast<double>(acc.size() - 1);
}

std::string verdict_text(const Verdict& v) {
  if (v.holds) return "**holds**";
  std::vector<std::string> why;
  if (!v.subnetwork_ok) why.push_back("subnetwork does not separate");
  if (!v.ablation_ok) why.push_back("ablation does not separate");
  if (!v.beats_random) why.push_back("not beyond random ablation");
  std::string s = "no: ";
  for (size_t i = 0; i < why.size(); ++i) s += (i ? "; " : "") + why[i];
  return s;
}

// The masks of one (policy, mask target, subroutine), pooled over the trained models.
struct Group {
  std::string policy, subroutine;
  MaskTarget target;
  std::vector<ScoredMask> masks;
  std::vector<double> full_target, full_other, full_score;
  std::set<std::string> models;
};

struct Options {
  std::vector<std::string> inputs, subroutines;
  std::string config, out, report, name = "results";
  int seeds = 0;
  bool best = false, quiet = false;
};

std::string report_family(const std::string& family, const std::vector<const ModelProbe*>& probes,
                          const trainer::ProbeConfig& config, const fs::path& out,
                          const fs::path& report_dir) {
  const ModelProbe& first = *probes.front();
  std::string md = fmt::format("\n## {}\n\n", family);
  md += "| subroutine | what it is | test rows (task instances) | chance |\n|---|---|---|---|\n";
  for (size_t k = 0; k < first.subroutines.size(); ++k)
    md += fmt::format("| {} | {} | {} ({}) | {} |\n", first.subroutines[k], first.descriptions[k],
                      first.rows[k], first.tasks[k], num(first.chance[k]));

  std::vector<Group> groups;
  const auto group_of = [&](const ModelProbe& m, const std::string& sub) -> Group& {
    for (Group& g : groups)
      if (g.policy == m.policy && g.target == m.target && g.subroutine == sub) return g;
    groups.push_back({m.policy, sub, m.target, {}, {}, {}, {}, {}});
    return groups.back();
  };
  for (const ModelProbe* m : probes)
    for (const SubroutineProbe& p : m->probes) {
      Group& g = group_of(*m, m->subroutines[p.index]);
      const auto scored = trainer::score_masks(*m, p);
      g.masks.insert(g.masks.end(), scored.begin(), scored.end());
      g.full_target.push_back(m->full[p.index]);
      g.full_other.push_back(mean_other(m->full, p.index));
      g.full_score.push_back(trainer::separation(m->full, m->chance, p.index));
      g.models.insert(m->label);
    }

  md += fmt::format(
      "\n### Verdicts\n\nPooled over trained models and mask seeds: mean and {:.0f}% interval "
      "of the separation (accuracy above chance on the subroutine minus the mean over the "
      "others). Evidence of structural compositionality holds when the subnetwork separates "
      "(> 0), the ablated model separates the other way (< 0), both by at least {} and with "
      "intervals excluding 0, and the ablation separates by at least {} more than random "
      "ablations of as many weights. The full model's score is the same separation for the "
      "intact policy: where chance levels differ it is not 0, and ablations start from it. The "
      "untrained model is the same mask training on a policy of the same architecture that was "
      "never trained.\n\n",
      100 * config.confidence, config.min_effect, config.min_effect);
  md +=
      "| policy | mask | subroutine | models × masks | full model acc (subroutine / others) | "
      "full model score | weights kept | subnetwork score | ablation score | random ablation "
      "score | untrained: subnetwork / ablation score | evidence "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::map<std::string, std::pair<int, int>> tally;  // policy + mask -> (holds, cases)
  int modular_holds = 0, modular_cases = 0, mono_holds = 0, mono_cases = 0;
  std::vector<std::pair<std::string, Verdict>> plotted;
  for (const Group& g : groups) {
    const Verdict v = trainer::judge(g.masks, config.min_effect, config.confidence);
    const double ft =
        std::accumulate(g.full_target.begin(), g.full_target.end(), 0.0) / g.full_target.size();
    const double fo =
        std::accumulate(g.full_other.begin(), g.full_other.end(), 0.0) / g.full_other.size();
    md += fmt::format(
        "| {} | {} | {} | {} × {} | {} / {} | {} | {:.1f}% | {} | {} | {} | {} / {} | {} |\n",
        g.policy, name_of(g.target), g.subroutine, g.models.size(),
        g.masks.size() / g.models.size(), num(ft), num(fo),
        signed_num(std::accumulate(g.full_score.begin(), g.full_score.end(), 0.0) /
                   g.full_score.size()),
        100 * v.kept.mean, interval(v.subnetwork), interval(v.ablation),
        interval(v.random_ablation), interval(v.random_subnetwork),
        interval(v.random_ablation_model), verdict_text(v));
    auto& t = tally[g.policy + "|" + name_of(g.target)];
    t.first += v.holds;
    ++t.second;
    (modular(g.policy) ? modular_holds : mono_holds) += v.holds;
    ++(modular(g.policy) ? modular_cases : mono_cases);
    plotted.emplace_back(g.policy + "\n" + name_of(g.target) + "\n" + g.subroutine, v);
  }

  md += "\n### Headline\n\n";
  for (const auto& [key, t] : tally) {
    const std::string policy = key.substr(0, key.find('|')), mask = key.substr(key.find('|') + 1);
    md += fmt::format("- {} ({} mask): evidence holds for {} of {} subroutines\n", policy, mask,
                      t.first, t.second);
  }
  md += fmt::format(
      "- modular policies (hypernetworks, either mask): {} of {} cases; monolithic policies: {} "
      "of {} cases\n",
      modular_holds, modular_cases, mono_holds, mono_cases);

  md +=
      "\n### Per trained model\n\nAccuracies on the test sets (subroutine / mean of the others); "
      "scores are means over the mask seeds with their interval.\n\n| run | policy | mask | "
      "subroutine | chosen lr, init, layers | subnetwork acc | ablated acc | subnetwork score | "
      "ablation score | random ablation score | untrained subnetwork score | evidence "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::string csv =
      "run,policy,mask,subroutine,seed,lr,init,layers,threshold_met,kept,chance,full,full_other,"
      "subnetwork,subnetwork_other,ablated,ablated_other,subnetwork_score,ablation_score,"
      "random_ablated,random_ablated_other,random_ablation_score,untrained_subnetwork_score,"
      "untrained_ablation_score,untrained_kept,mask_seconds,subroutine_seconds\n";
  std::string search_csv =
      "run,policy,mask,subroutine,lr,init,layers,subnetwork,full,ablation_score,kept,passes,"
      "chosen,seconds\n";
  std::string timing =
      "\n### Time\n\nWall time on this machine, per probe of one subroutine: the search (every "
      "configuration trained once), then the masks of the other seeds and the controls.\n\n| run "
      "| policy | mask | subroutine | masked weights | search | mean mask training | whole "
      "subroutine |\n|---|---|---|---|---|---|---|---|\n";
  for (const ModelProbe* m : probes) {
    const int64_t weights =
        std::accumulate(m->units.begin(), m->units.end(), int64_t{0},
                        [](int64_t a, const trainer::MaskUnit& u) { return a + u.numel(); });
    for (const SubroutineProbe& p : m->probes) {
      const size_t k = p.index;
      const std::string& sub = m->subroutines[k];
      const auto scored = trainer::score_masks(*m, p);
      const Verdict v = trainer::judge(scored, config.min_effect, config.confidence);
      const trainer::MaskSetting& c = p.search[p.chosen].setting;
      double sub_t = 0, sub_o = 0, abl_t = 0, abl_o = 0, train_s = 0;
      for (const auto& r : p.masks) {
        sub_t += r.subnetwork[k] / p.masks.size();
        sub_o += mean_other(r.subnetwork, k) / p.masks.size();
        abl_t += r.ablated[k] / p.masks.size();
        abl_o += mean_other(r.ablated, k) / p.masks.size();
        train_s += r.seconds / p.masks.size();
      }
      md += fmt::format(
          "| {} | {} | {} | {} | {}, {}, {}{} | {} / {} | {} / {} | {} | {} | {} | {} | {} |\n",
          m->label, m->policy, name_of(m->target), sub, c.lr, c.init, c.layers,
          p.threshold_met ? "" : " (below threshold)", num(sub_t), num(sub_o), num(abl_t),
          num(abl_o), interval(v.subnetwork), interval(v.ablation), interval(v.random_ablation),
          interval(v.random_subnetwork), verdict_text(v));
      double search_s = 0;
      for (const auto& e : p.search) search_s += e.seconds;
      timing += fmt::format("| {} | {} | {} | {} | {} | {} ({} configurations) | {} | {} |\n",
                            m->label, m->policy, name_of(m->target), sub, weights,
                            trainer::format_duration(search_s), p.search.size(),
                            fmt::format("{:.1f}s", train_s), trainer::format_duration(p.seconds));
      for (size_t i = 0; i < p.masks.size(); ++i) {
        const auto& r = p.masks[i];
        const auto& s = scored[i];
        csv += fmt::format(
            "{},{},{},{},{},{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}"
            "\n",
            m->label, m->policy, name_of(m->target), sub, r.seed, c.lr, c.init, c.layers,
            p.threshold_met ? 1 : 0, r.kept, m->chance[k], m->full[k], mean_other(m->full, k),
            r.subnetwork[k], mean_other(r.subnetwork, k), r.ablated[k], mean_other(r.ablated, k),
            s.subnetwork, s.ablation, r.random_ablated.empty() ? std::nan("") : r.random_ablated[k],
            r.random_ablated.empty() ? std::nan("") : mean_other(r.random_ablated, k),
            s.random_ablation, s.random_subnetwork, s.random_ablation_model,
            r.random_model ? r.random_kept : std::nan(""), r.seconds, p.seconds);
      }
      for (size_t i = 0; i < p.search.size(); ++i) {
        const auto& e = p.search[i];
        search_csv +=
            fmt::format("{},{},{},{},{},{},\"{}\",{},{},{},{},{},{},{}\n", m->label, m->policy,
                        name_of(m->target), sub, e.setting.lr, e.setting.init, e.setting.layers,
                        e.target_accuracy, e.full_accuracy, e.ablation_score, e.kept,
                        e.passes ? 1 : 0, static_cast<int>(i) == p.chosen ? 1 : 0, e.seconds);
      }
    }
  }
  md += timing;
  atomic_write((out / (family + ".csv")).string(), csv);
  atomic_write((out / (family + "_search.csv")).string(), search_csv);
  const std::string rel = fs::relative(fs::absolute(out), report_dir).string();
  md += fmt::format(
      "\nEvery mask (one row per trained model, mask and seed): [{0}.csv]({1}/{0}.csv); the "
      "search: [{0}_search.csv]({1}/{0}_search.csv).\n",
      family, rel);
#ifdef HYPERCOMP_HAVE_RENDER
  render::IntervalPlot plot;
  plot.title =
      fmt::format("{}: separation scores with {:.0f}% intervals", family, 100 * config.confidence);
  plot.y_label = "separation (above-chance accuracy, subroutine - others)";
  plot.y_min = -1.0;  // the range of a separation
  plot.y_max = 1.0;
  const char* labels[] = {"subnetwork (> 0: evidence)", "ablated (< 0: evidence)",
                          "random ablation", "untrained: subnetwork", "untrained: ablated"};
  const render::Color colors[] = {
      render::palette(0), render::palette(1), {150, 150, 150}, {120, 170, 220}, {235, 150, 140}};
  for (int s = 0; s < 5; ++s) plot.series.push_back({labels[s], {}, {}, {}, colors[s]});
  for (const auto& [cat, v] : plotted) {
    plot.categories.push_back(cat);
    const Interval* ivs[] = {&v.subnetwork, &v.ablation, &v.random_ablation, &v.random_subnetwork,
                             &v.random_ablation_model};
    for (int s = 0; s < 5; ++s) {
      plot.series[s].y.push_back(ivs[s]->n > 0 ? ivs[s]->mean : std::nan(""));
      plot.series[s].lo.push_back(ivs[s]->n > 1 ? ivs[s]->lo : std::nan(""));
      plot.series[s].hi.push_back(ivs[s]->n > 1 ? ivs[s]->hi : std::nan(""));
    }
  }
  const std::string png = family + "_scores.png";
  render::save_interval_plot(plot, (out / png).string());
  md += fmt::format("\n![{}: separation scores]({}/{})\n", family, rel, png);
#endif
  return md;
}

// The report is written between its probe markers if it exists (it may be hand-written around
// them), or as a new file. An existing file without the markers is refused, before any work.
struct Report {
  std::string path;
  Region region;
  Report(std::string p, const std::string& name) : path(std::move(p)), region("probe", name) {
    if (fs::exists(path) && !region.in(read_file(path)))
      throw Error(
          fmt::format("report '{}' exists and has no region '{}' ... '{}' to write the "
                      "results into; add the two lines, or choose another --report",
                      path, region.begin, region.end));
  }
  void write(const std::string& md) const {
    if (!fs::exists(path)) {
      atomic_write(path, "# Structural compositionality probe\n\n" + region.wrap("\n" + md) + "\n");
      return;
    }
    atomic_write(path, region.replaced(read_file(path), "\n" + md));
  }
};

}  // namespace

Command add_probe(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "probe",
      "Structural compositionality: train weight masks for each subroutine of trained runs and "
      "test the subnetworks and their ablations against random controls");
  auto o = std::make_shared<Options>();
  cmd->add_option("runs", o->inputs,
                  "Run directories (one or more, e.g. several seeds and policies of one family), "
                  "then any probe.key=value overrides")
      ->required();
  // One name per occurrence (or a comma-separated list), so that the positional run
  // directories and overrides after it are not taken for names.
  cmd->add_option("--subroutine", o->subroutines,
                  "Probe only this subroutine (repeat, or a,b; default: every one the family "
                  "declares)")
      ->allow_extra_args(false)
      ->delimiter(',')
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--seeds", o->seeds, "Masks per subroutine (overrides probe.seeds)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--config", o->config, "Probe config file (a `probe` section)");
  cmd->add_option("--out", o->out, "Output directory (default: runs/probe-<time>)");
  cmd->add_option("--report", o->report,
                  "Markdown report (default: OUT/probe.md); an existing file is written only "
                  "between its <!-- probe:begin NAME --> and <!-- probe:end NAME --> lines");
  cmd->add_option("--name", o->name, "NAME of the report region (default: results)");
  cmd->add_flag("--best", o->best, "Probe best.pt (lowest valid loss) instead of checkpoint.pt");
  cmd->add_flag("-q,--quiet", o->quiet, "No progress lines");
  return [o]() {
    const auto started = std::chrono::system_clock::now();
    std::vector<std::string> dirs, overrides;
    for (const auto& s : o->inputs)
      (s.find('=') != std::string::npos ? overrides : dirs).push_back(s);
    if (dirs.empty()) throw ConfigError("probe: give at least one run directory");
    trainer::ProbeConfig config = trainer::load_probe_config(o->config, overrides);
    if (o->seeds > 0) config.seeds = o->seeds;

    // Everything that can be wrong is checked before the first mask is trained.
    std::vector<trainer::LoadedRun> runs;
    for (const auto& d : dirs) {
      runs.push_back(trainer::load_run(d, o->best));
      // What is refused is refused for a run: say which, among several.
      try {
        trainer::select_subroutines(*runs.back().config.family, o->subroutines);
        trainer::mask_targets(*runs.back().learner, config.targets);
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
    const std::string report_path =
        o->report.empty() ? (fs::path(out) / "probe.md").string() : o->report;
    const Report report(report_path, o->name);
    atomic_write((fs::path(out) / "probe.yaml").string(),
                 to_yaml(trainer::probe_config_yaml(config)));

    const auto t0 = std::chrono::steady_clock::now();
    const auto log = [&](const std::string& line) {
      if (o->quiet) return;
      const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      fmt::print(stderr, "[{}] {}\n", trainer::format_duration(s), line);
    };
    std::vector<ModelProbe> results;
    for (trainer::LoadedRun& run : runs) {
      const trainer::ProbeModel model = trainer::probe_model(run);
      for (MaskTarget target : trainer::mask_targets(*run.learner, config.targets))
        results.push_back(
            trainer::probe(*run.config.family, model, target, config, o->subroutines, log));
    }
    const double total =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

    std::string command = "hypercomp probe";
    for (const auto& s : o->inputs) command += " " + s;
    for (const auto& s : o->subroutines) command += " --subroutine " + s;
    if (o->seeds > 0) command += fmt::format(" --seeds {}", o->seeds);
    if (!o->config.empty()) command += " --config " + o->config;
    if (!o->out.empty()) command += " --out " + o->out;
    if (!o->report.empty()) command += " --report " + o->report;
    if (o->name != "results") command += " --name " + o->name;
    if (o->best) command += " --best";

    const trainer::ProbeConfig& c = config;
    std::string md = "\nGenerated by `hypercomp probe` from trained runs; do not edit by hand.\n\n";
    md += fmt::format("- command: `{}`\n", command);
    md += fmt::format("- machine: {}\n", machine_line());
    md += fmt::format("- generated {}; probe wall time {}\n",
                      fmt::format("{:%Y-%m-%d %H:%M}",
                                  fmt::localtime(std::chrono::system_clock::to_time_t(started))),
                      trainer::format_duration(total));
    md += fmt::format(
        "- mask training: {} epochs over {} task instances in steps of {}, temperature 1 → {}, "
        "λ = {}; search over lr {{{}}} × initial logit {{{}}} × layers {{{}}}, keeping "
        "configurations whose subnetwork keeps {:.0f}% of the full model's accuracy; {} mask "
        "seed(s), {} random ablations per mask, untrained-model control {}; {} selection and {} "
        "test task instances per subroutine\n",
        c.epochs, c.train_tasks, c.batch, c.final_temperature, c.lambda,
        fmt::join(c.search.lr, ", "), fmt::join(c.search.init, ", "),
        fmt::join(c.search.layers, ", "), 100 * c.search.min_accuracy, c.seeds, c.random_ablations,
        c.random_model ? "on" : "off", c.select_tasks, c.test_tasks);
    std::map<std::string, std::vector<const ModelProbe*>> by_family;
    for (const ModelProbe& m : results) by_family[m.family].push_back(&m);
    const fs::path report_dir = fs::absolute(report_path).parent_path();
    for (const auto& [family, probes] : by_family)
      md += report_family(family, probes, config, out, report_dir);
    report.write(md);
    if (!o->quiet)
      fmt::print(stderr, "report written to {} (tables and plots in {})\n", report_path, out);
    return 0;
  };
}

}  // namespace hc::app
