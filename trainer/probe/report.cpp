#include "trainer/probe/report.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "base/error.h"
#include "base/io.h"
#include "trainer/progress.h"

namespace hc::probe {
namespace fs = std::filesystem;
namespace {

std::string num(double v, int digits = 3) {
  return std::isfinite(v) ? fmt::format("{:.{}f}", v, digits) : "–";
}
std::string signed_num(double v) { return std::isfinite(v) ? fmt::format("{:+.3f}", v) : "–"; }
std::string interval(const Interval& iv) {
  if (iv.n == 0 || !std::isfinite(iv.mean)) return "–";
  if (iv.n == 1) return signed_num(iv.mean);
  return fmt::format("{} [{}, {}]", signed_num(iv.mean), signed_num(iv.lo), signed_num(iv.hi));
}
std::string p_value(const WaldTest& t) {
  if (!std::isfinite(t.p)) return "–";
  return t.p < 1e-4 ? "<1e-4" : fmt::format("{:.2g}", t.p);
}
bool modular(const std::string& policy) { return policy.rfind("hnet", 0) == 0; }

double mean_other(const std::vector<double>& acc, size_t target) {
  double s = 0.0;
  for (size_t j = 0; j < acc.size(); ++j)
    if (j != target) s += acc[j];
  return s / static_cast<double>(acc.size() - 1);
}
double mean_of(const std::vector<double>& xs) {
  return xs.empty() ? std::nan("")
                    : std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}

// The masks of one (policy, mask target, subroutine), pooled over the trained models.
struct Group {
  std::string policy, subroutine;
  MaskTarget target;
  std::vector<ScoredMask> masks;
  std::vector<double> full_target, full_other;
  std::vector<std::string> models;
  std::vector<double> seconds;  // per probe (one model, one subroutine)
};

std::string family_section(const std::string& family, const std::vector<const ModelProbe*>& probes,
                           const ProbeConfig& config, const fs::path& out,
                           const fs::path& report_dir, const DrawPlot& draw) {
  const ModelProbe& first = *probes.front();
  std::string md = fmt::format("\n## {}\n\n", family);
  md += "| subroutine | what it is | test rows (task instances) | chance |\n|---|---|---|---|\n";
  for (size_t k = 0; k < first.subroutines.size(); ++k)
    md += fmt::format("| {} | {} | {} ({}) | {}{} |\n", first.subroutines[k], first.descriptions[k],
                      first.rows[k], first.tasks[k], num(first.chance[k]),
                      config.metric == Metric::kLoss
                          ? fmt::format(" (its loss {})", num(first.chance_loss[k]))
                          : "");

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
      int model = static_cast<int>(std::find(g.models.begin(), g.models.end(), m->label) -
                                   g.models.begin());
      if (model == static_cast<int>(g.models.size())) g.models.push_back(m->label);
      const auto scored = score_masks(*m, p, model, config.score);
      g.masks.insert(g.masks.end(), scored.begin(), scored.end());
      g.full_target.push_back(m->full[p.index]);
      g.full_other.push_back(mean_other(m->full, p.index));
      g.seconds.push_back(p.seconds);
    }

  md += fmt::format(
      "\n### Verdicts\n\nPooled over trained models and masks: mean and {:.0f}% interval of each "
      "separation score ({} score of the subroutine minus the mean over the others). Evidence "
      "holds, by the paper's rule, when the subnetwork's score is above 0, the ablated model's "
      "below 0, and the gap between them larger than for untrained models of the same "
      "architecture, each by a Wald test with standard errors clustered by trained model, p < "
      "{}, over at least {} trained models. The last column is the stricter extra rule: the "
      "ablation's score at least {} below that of random ablations of as many weights (their "
      "score in brackets).\n\n",
      100 * config.confidence, name_of(config.score), config.alpha, config.min_models,
      config.min_effect);
  md +=
      "| policy | mask | subroutine | models × masks | full acc: subroutine / others | weights "
      "kept | subnetwork score | ablation score | untrained: subnetwork / ablation | p: "
      "subnetwork, ablation, beyond untrained | evidence (paper's rule) | beyond random "
      "ablation |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  std::map<std::string, std::pair<int, int>> tally;  // policy + mask -> (holds, cases)
  int modular_holds = 0, modular_cases = 0, mono_holds = 0, mono_cases = 0;
  ScorePlot plot;
  plot.title = fmt::format("{}: separation scores ({}) with {:.0f}% intervals", family,
                           name_of(config.score), 100 * config.confidence);
  plot.y_label = "separation (subroutine score - others)";
  for (const char* label : {"subnetwork (> 0: evidence)", "ablated (< 0: evidence)",
                            "random ablation", "untrained: subnetwork", "untrained: ablated"})
    plot.series.push_back({label, {}, {}, {}});
  for (const Group& g : groups) {
    const Verdict v = judge(g.masks, config);
    md += fmt::format(
        "| {} | {} | {} | {} × {} | {} / {} | {:.1f}% | {} | {} | {} / {} | {}, {}, {} | {} | {} "
        "({}) |\n",
        g.policy, name_of(g.target), g.subroutine, g.models.size(),
        g.masks.size() / std::max<size_t>(g.models.size(), 1), num(mean_of(g.full_target)),
        num(mean_of(g.full_other)), 100 * v.kept.mean, interval(v.subnetwork), interval(v.ablation),
        signed_num(v.untrained_subnetwork.mean), signed_num(v.untrained_ablation.mean),
        p_value(v.subnetwork_test), p_value(v.ablation_test), p_value(v.untrained_gap),
        verdict_text(v), v.beats_random ? "yes" : "no", signed_num(v.random_ablation.mean));
    auto& t = tally[g.policy + "|" + std::string(name_of(g.target))];
    t.first += v.holds;
    ++t.second;
    (modular(g.policy) ? modular_holds : mono_holds) += v.holds;
    ++(modular(g.policy) ? modular_cases : mono_cases);
    plot.categories.push_back(g.policy + "\n" + std::string(name_of(g.target)) + "\n" +
                              g.subroutine);
    const Interval* ivs[] = {&v.subnetwork, &v.ablation, &v.random_ablation,
                             &v.untrained_subnetwork, &v.untrained_ablation};
    for (int s = 0; s < 5; ++s) {
      plot.series[s].y.push_back(ivs[s]->n > 0 ? ivs[s]->mean : std::nan(""));
      plot.series[s].lo.push_back(ivs[s]->n > 1 ? ivs[s]->lo : std::nan(""));
      plot.series[s].hi.push_back(ivs[s]->n > 1 ? ivs[s]->hi : std::nan(""));
    }
  }

  md += "\n### Headline\n\n";
  for (const auto& [key, t] : tally) {
    const std::string policy = key.substr(0, key.find('|')), mask = key.substr(key.find('|') + 1);
    md += fmt::format("- {} ({} mask): evidence holds for {} of {} subroutines\n", policy, mask,
                      t.first, t.second);
  }
  if (modular_cases > 0 && mono_cases > 0)
    md += fmt::format(
        "- modular policies (hypernetworks, either mask): {} of {} cases; monolithic policies: {} "
        "of {} cases\n",
        modular_holds, modular_cases, mono_holds, mono_cases);

  md += fmt::format(
      "\n### Per trained model\n\nRaw accuracies on the test sets (the subroutine / mean of the "
      "others), means over the masks; scores are {} separations with their interval over the "
      "masks. The untrained model is the same architecture never trained, put through the same "
      "adaptation and mask training.\n\n| run | policy | mask | subroutine | chosen lr, init, "
      "layers | kept | full acc | subnetwork acc | ablated acc | untrained full / subnetwork / "
      "ablated acc | subnetwork score | ablation score | random ablation score "
      "|\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
      name_of(config.score));
  std::string csv =
      "run,policy,mask,subroutine,seed,lr,init,layers,threshold_met,kept,chance,full,full_other,"
      "subnetwork,subnetwork_other,ablated,ablated_other,subnetwork_score,ablation_score,"
      "random_ablated,random_ablated_other,random_ablation_score,untrained_full,"
      "untrained_subnetwork,untrained_ablated,untrained_subnetwork_score,untrained_ablation_score,"
      "untrained_kept,mask_seconds,subroutine_seconds\n";
  std::string search_csv =
      "run,policy,mask,subroutine,lr,init,layers,subnetwork,full,ablation_score,kept,removed,"
      "passes,chosen,steps,first_loss,first_penalty,final_loss,seconds\n";
  std::string timing =
      "\n### Time\n\nWall time on this machine per probe of one subroutine of one trained model "
      "and mask target: the search (every configuration trained once), then the masks of the "
      "other seeds and the untrained-model controls, and every evaluation.\n\n| run | policy | "
      "mask | subroutine | masked weights | mask steps | search | mean mask training | whole "
      "probe |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const ModelProbe* m : probes) {
    const int64_t weights =
        std::accumulate(m->units.begin(), m->units.end(), int64_t{0},
                        [](int64_t a, const MaskUnit& u) { return a + u.numel(); });
    for (const SubroutineProbe& p : m->probes) {
      const size_t k = p.index;
      const std::string& sub = m->subroutines[k];
      const auto scored = score_masks(*m, p, 0, config.score);
      std::vector<double> subs, abls, rands;
      for (const auto& s : scored) {
        subs.push_back(s.subnetwork);
        abls.push_back(s.ablation);
        rands.push_back(s.random_ablation);
      }
      const MaskSetting& c = p.search[p.chosen].setting;
      std::vector<double> sub_t, sub_o, abl_t, abl_o, kept, u_full, u_sub, u_abl, secs;
      for (const auto& r : p.masks) {
        sub_t.push_back(r.subnetwork[k]);
        sub_o.push_back(mean_other(r.subnetwork, k));
        abl_t.push_back(r.ablated[k]);
        abl_o.push_back(mean_other(r.ablated, k));
        kept.push_back(r.kept);
        secs.push_back(r.seconds);
        if (r.untrained) {
          u_full.push_back(r.untrained_full[k]);
          u_sub.push_back(r.untrained_subnetwork[k]);
          u_abl.push_back(r.untrained_ablated[k]);
        }
      }
      md += fmt::format(
          "| {} | {} | {} | {} | {}, {}, {}{} | {:.1f}% | {} / {} | {} / {} | {} / {} | {} / {} / "
          "{} | {} | {} | {} |\n",
          m->label, m->policy, name_of(m->target), sub, c.lr, c.init, c.layers,
          p.threshold_met ? "" : " (below threshold)", 100 * mean_of(kept), num(m->full[k]),
          num(mean_other(m->full, k)), num(mean_of(sub_t)), num(mean_of(sub_o)),
          num(mean_of(abl_t)), num(mean_of(abl_o)), num(mean_of(u_full)), num(mean_of(u_sub)),
          num(mean_of(u_abl)), interval(mean_interval(subs, config.confidence)),
          interval(mean_interval(abls, config.confidence)),
          interval(mean_interval(rands, config.confidence)));
      double search_s = 0;
      int64_t steps = 0;
      for (const auto& e : p.search) search_s += e.training.seconds, steps = e.training.steps;
      timing +=
          fmt::format("| {} | {} | {} | {} | {} | {} | {} ({} configurations) | {} | {} |\n",
                      m->label, m->policy, name_of(m->target), sub, weights, steps,
                      trainer::format_duration(search_s), p.search.size(),
                      fmt::format("{:.1f}s", mean_of(secs)), trainer::format_duration(p.seconds));
      for (size_t i = 0; i < p.masks.size(); ++i) {
        const auto& r = p.masks[i];
        const auto& s = scored[i];
        std::vector<double> ra(r.random_ablated.empty() ? 0 : r.random_ablated[0].size(), 0.0);
        for (const auto& acc : r.random_ablated)
          for (size_t j = 0; j < acc.size(); ++j) ra[j] += acc[j] / r.random_ablated.size();
        const auto at = [&](const std::vector<double>& v, size_t j) {
          return j < v.size() ? v[j] : std::nan("");
        };
        csv += fmt::format(
            "{},{},{},{},{},{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},"
            "{},{},{}\n",
            m->label, m->policy, name_of(m->target), sub, r.seed, c.lr, c.init, c.layers,
            p.threshold_met ? 1 : 0, r.kept, m->chance[k], m->full[k], mean_other(m->full, k),
            r.subnetwork[k], mean_other(r.subnetwork, k), r.ablated[k], mean_other(r.ablated, k),
            s.subnetwork, s.ablation, at(ra, k), ra.empty() ? std::nan("") : mean_other(ra, k),
            s.random_ablation, at(r.untrained_full, k), at(r.untrained_subnetwork, k),
            at(r.untrained_ablated, k), r.untrained ? s.untrained_subnetwork : std::nan(""),
            r.untrained ? s.untrained_ablation : std::nan(""),
            r.untrained ? r.untrained_kept : std::nan(""), r.seconds, p.seconds);
      }
      for (size_t i = 0; i < p.search.size(); ++i) {
        const auto& e = p.search[i];
        search_csv += fmt::format("{},{},{},{},{},{},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{}\n",
                                  m->label, m->policy, name_of(m->target), sub, e.setting.lr,
                                  e.setting.init, e.setting.layers, e.target_accuracy,
                                  e.full_accuracy, e.ablation_score, e.kept, e.removed,
                                  e.passes ? 1 : 0, static_cast<int>(i) == p.chosen ? 1 : 0,
                                  e.training.steps, e.training.first_loss, e.training.first_penalty,
                                  e.training.final_loss, e.training.seconds);
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
  if (draw) {
    const std::string png = family + "_scores.png";
    draw(plot, (out / png).string());
    md += fmt::format("\n![{}: separation scores]({}/{})\n", family, rel, png);
  }
  return md;
}

}  // namespace

std::string report_markdown(const std::vector<ModelProbe>& results, const ProbeConfig& c,
                            const ReportHeader& header, const fs::path& out,
                            const fs::path& report_dir, const DrawPlot& draw) {
  std::string md = "\nGenerated by `hypercomp probe`; do not edit by hand.\n\n";
  md += fmt::format("- command: `{}`\n", header.command);
  md += fmt::format("- machine: {}\n", header.machine);
  md += fmt::format("- generated {}; probe wall time {}{}\n", header.generated,
                    trainer::format_duration(header.seconds),
                    header.reused > 0 ? fmt::format(" (resumed: {} subroutine probes were read "
                                                    "back from an interrupted run, their times "
                                                    "are that run's)",
                                                    header.reused)
                                      : "");
  const int steps_per_epoch = (c.train_tasks + c.batch - 1) / c.batch;
  md += fmt::format(
      "- mask training: {} epochs of {} steps ({} {} task instances in steps of {}), "
      "temperature 1 → {}, λ = {} × sum of the mask{}; search over lr {{{}}} × initial logit "
      "{{{}}} × layers {{{}}}, keeping configurations whose subnetwork keeps {:.0f}% of the full "
      "model's accuracy; {} mask seed(s), {} random ablations per mask, untrained-model control "
      "{}; {} selection and {} test task instances per subroutine; {} scores of {}; verdict over "
      "≥ {} trained models at p < {}\n",
      c.epochs, steps_per_epoch, c.fresh_tasks ? "fresh" : "a fixed set of", c.train_tasks, c.batch,
      c.final_temperature, c.lambda,
      fmt::format("{}{}",
                  c.lambda_weights > 0
                      ? fmt::format(", scaled by {:g} / masked weights", c.lambda_weights)
                      : "",
                  c.lambda_loss ? " (for action vectors also by the constant prediction's loss / "
                                  "ln 2)"
                                : ""),
      fmt::join(c.search.lr, ", "), fmt::join(c.search.init, ", "),
      fmt::join(c.search.layers, ", "), 100 * c.search.min_accuracy, c.seeds, c.random_ablations,
      c.random_model ? "on" : "off", c.select_tasks, c.test_tasks, name_of(c.score),
      c.metric == Metric::kAccuracy
          ? "accuracy"
          : "the share of the constant prediction's loss removed, max(0, 1 - L / L_chance) "
            "(chance 0; \"acc\" below stands for it)",
      c.min_models, c.alpha);
  std::map<std::string, std::vector<const ModelProbe*>> by_family;
  for (const ModelProbe& m : results) by_family[m.family].push_back(&m);
  for (const auto& [family, probes] : by_family)
    md += family_section(family, probes, c, out, report_dir, draw);
  return md;
}

ReportFile::ReportFile(std::string path, const std::string& name)
    : path_(std::move(path)), name_(name) {
  const Region region("probe", name_);
  if (fs::exists(path_) && !region.in(read_file(path_)))
    throw Error(
        fmt::format("report '{}' exists and has no region '{}' ... '{}' to write the results "
                    "into; add the two lines, or choose another --report",
                    path_, region.begin, region.end));
}

void ReportFile::write(const std::string& md) const {
  const Region region("probe", name_);
  if (!fs::exists(path_)) {
    atomic_write(path_, "# Structural compositionality probe\n\n" + region.wrap("\n" + md) + "\n");
    return;
  }
  atomic_write(path_, region.replaced(read_file(path_), "\n" + md));
}

}  // namespace hc::probe
