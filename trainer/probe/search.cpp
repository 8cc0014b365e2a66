#include "trainer/probe/search.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "agents/factory.h"
#include "base/error.h"
#include "trainer/probe/data.h"
#include "trainer/probe/verdict.h"

namespace hc::probe {
namespace {

constexpr uint64_t kProbeStream = 0x9b0be;
// Stream ids under the probe's seed: every draw of the probe has its own.
enum Stream : uint64_t {
  kTrainSet = 1,
  kSelectSet = 2,
  kTestSet = 3,
  kOrder = 4,
  kRandomAblation = 5,
  kRandomModel = 6,
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double kept_fraction(const MaskValues& hard) {
  return static_cast<double>(kept_weights(hard)) /
         static_cast<double>(std::max<int64_t>(masked_weights(hard), 1));
}

void prepare(MaskedPolicy& m, const SubroutineSet& set) {
  for (const auto& b : set.batches) m.prepare(b);
}
void release(MaskedPolicy& m, const SubroutineSet& set) {
  for (const auto& b : set.batches) m.release(b);
}

}  // namespace

int choose(const std::vector<SearchEntry>& search) {
  int chosen = -1;
  for (size_t i = 0; i < search.size(); ++i) {
    const SearchEntry& e = search[i];
    if (!e.passes) continue;
    if (chosen < 0) {
      chosen = static_cast<int>(i);
      continue;
    }
    const SearchEntry& c = search[chosen];
    if (e.ablation_score < c.ablation_score ||
        (e.ablation_score == c.ablation_score && e.removed > c.removed))
      chosen = static_cast<int>(i);
  }
  return chosen;
}

std::vector<ScoredMask> score_masks(const ModelProbe& m, const SubroutineProbe& p, int model,
                                    ScoreKind kind) {
  const auto sep = [&](const std::vector<double>& acc) {
    return separation(acc, m.chance, m.full, p.index, kind);
  };
  std::vector<ScoredMask> out;
  for (const MaskResult& r : p.masks) {
    ScoredMask s;
    s.model = model;
    s.subnetwork = sep(r.subnetwork);
    s.ablation = sep(r.ablated);
    s.random_ablation = std::nan("");
    if (!r.random_ablated.empty()) {
      s.random_ablation = 0.0;
      for (const auto& acc : r.random_ablated)
        s.random_ablation += sep(acc) / r.random_ablated.size();
    }
    s.untrained = r.untrained;
    if (r.untrained) {
      s.untrained_subnetwork = sep(r.untrained_subnetwork);
      s.untrained_ablation = sep(r.untrained_ablated);
    }
    s.kept = r.kept;
    out.push_back(s);
  }
  return out;
}

ProbeModel probe_model(trainer::LoadedRun& run) {
  ProbeModel m;
  m.label = run.dir;
  m.policy = name_of(run.config.policy.name);
  m.learner = run.learner.get();
  m.seed = run.config.train.seed;
  m.shards = run.config.train.shards;
  const trainer::RunConfig& c = run.config;
  m.untrained = [&c](uint64_t seed) {
    const tasks::TaskFamily& family = *c.family;
    agents::PolicyDims dims{family.input_dim(), family.output_dim(), 0};
    if (c.learner.name == trainer::LearnerKind::kImitation)
      dims.latent = family.task_space().latent_dim();
    return std::make_unique<trainer::Learner>(agents::make_policy(c.policy, dims, seed), c.learner,
                                              c.threads(),
                                              c.train.parallel == trainer::Parallel::kShards);
  };
  return m;
}

ModelProbe probe(const tasks::TaskFamily& family, const ProbeModel& model, MaskTarget target,
                 const ProbeConfig& config, const std::vector<std::string>& names,
                 const ProbeLog& log, const std::vector<std::string>& only) {
  const auto t0 = Clock::now();
  const std::vector<tasks::Subroutine> all = select_subroutines(family, {});
  const std::vector<tasks::Subroutine> wanted = select_subroutines(family, names);
  const auto doing = [&](const std::string& name) {
    return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
  };
  const bool preamble = only.empty() || only.front() == wanted.front().name;
  const auto say_once = [&](const std::string& line) {
    if (log && preamble) log(line);
  };
  const auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  std::unique_ptr<MaskedPolicy> masked;
  try {
    masked = MaskedPolicy::make(target, *model.learner);
  } catch (const Error& e) {
    throw Error(fmt::format("cannot probe '{}' ({}): {}", model.label, model.policy, e.what()));
  }

  ModelProbe r;
  r.label = model.label;
  r.policy = model.policy;
  r.family = family.name();
  r.target = target;
  r.units = masked->units();

  const uint64_t base = derive_seed(model.seed, {kProbeStream, config.seed});
  const double tol = family.action_tolerance();
  const int shards = model.shards;
  const auto stream = [&](Stream s, size_t sub, uint64_t k = 0) {
    return derive_seed(base, {s, static_cast<uint64_t>(sub), k});
  };

  // Subroutines are scored on tasks the policy was trained on: the question is how it performs
  // what it learnt, not how it generalises. Streams are numbered by the family's subroutines,
  // so that a subroutine's data do not depend on which others are probed.
  std::vector<const tasks::Subroutine*> used;
  std::vector<std::vector<int64_t>> candidates;
  std::vector<size_t> numbers;  // index into `all`
  std::vector<SubroutineSet> select, test;
  for (size_t a = 0; a < all.size(); ++a) {
    const tasks::Subroutine& s = all[a];
    std::vector<int64_t> ids;
    for (int64_t id : family.splits().train)
      if (s.uses_task(family.task_space().task(id))) ids.push_back(id);
    const bool asked =
        !names.empty() && std::any_of(wanted.begin(), wanted.end(),
                                      [&](const tasks::Subroutine& w) { return w.name == s.name; });
    const auto leave_out = [&](const std::string& why) {
      if (asked) throw Error(fmt::format("subroutine '{}' {}", s.name, why));
      say_once(fmt::format("subroutine {} left out: it {}", s.name, why));
    };
    if (ids.empty()) {
      leave_out(fmt::format("uses no training task of this run's split (support {})",
                            name_of(family.split_spec().support)));
      continue;
    }
    SubroutineSet sel = make_subroutine_set(family, s, ids, config.select_tasks, config.batch,
                                            shards, stream(kSelectSet, a));
    SubroutineSet tst = make_subroutine_set(family, s, ids, config.test_tasks, config.batch, shards,
                                            stream(kTestSet, a));
    if (sel.rows == 0 || tst.rows == 0) {
      leave_out("counts no query row of its task instances (nothing to score it on)");
      continue;
    }
    used.push_back(&s);
    numbers.push_back(a);
    candidates.push_back(std::move(ids));
    select.push_back(std::move(sel));
    test.push_back(std::move(tst));
    r.subroutines.push_back(s.name);
    r.descriptions.push_back(s.description);
  }
  if (used.size() < 2)
    throw Error(
        fmt::format("the probe compares a subroutine with the others, and only {} of {}'s "
                    "subroutines can be scored on training tasks",
                    used.size(), family.name()));
  const size_t n = used.size();
  const auto make_set = [&](size_t k, int count, uint64_t seed) {
    return make_subroutine_set(family, *used[k], candidates[k], count, config.batch, shards, seed);
  };
  for (size_t k = 0; k < n; ++k) {
    prepare(*masked, select[k]);
    prepare(*masked, test[k]);
  }
  const MaskValues ones(r.units.size());
  const auto accuracies = [&](MaskedPolicy& m, const std::vector<SubroutineSet>& sets,
                              const MaskValues& mask) {
    std::vector<double> acc(n);
    for (size_t k = 0; k < n; ++k) acc[k] = measure(m, sets[k], mask, tol, config.metric);
    return acc;
  };
  std::vector<double> chance_select(n);
  for (size_t k = 0; k < n; ++k) {
    r.chance.push_back(chance_of(test[k], config.metric));
    r.chance_loss.push_back(test[k].chance_loss);
    r.rows.push_back(test[k].rows);
    r.tasks.push_back(test[k].tasks);
    chance_select[k] = chance_of(select[k], config.metric);
  }
  r.full = accuracies(*masked, test, ones);
  const std::vector<double> full_select = accuracies(*masked, select, ones);
  {
    std::string line = fmt::format(
        "{} [{} mask]: full model{}", model.label, name_of(target),
        config.metric == Metric::kLoss ? " (share of the constant prediction's loss removed)" : "");
    for (size_t k = 0; k < n; ++k)
      line += config.metric == Metric::kLoss
                  ? fmt::format(" | {} {:.3f} (the constant's loss {:.4g})", r.subroutines[k],
                                r.full[k], r.chance_loss[k])
                  : fmt::format(" | {} {:.3f} (chance {:.3f})", r.subroutines[k], r.full[k],
                                r.chance[k]);
    say_once(line);
    // Every separation averages over all subroutines, so one that the full model performs at
    // chance leaves this model unscored; say so now rather than after hours of mask training.
    std::vector<std::string> flat;
    for (size_t k = 0; k < n; ++k)
      if (!scorable(r.chance[k], r.full[k], config.score))
        flat.push_back(fmt::format("{} (lift {:+.3f})", r.subroutines[k], r.full[k] - r.chance[k]));
    if (!flat.empty())
      say_once(fmt::format(
          "{} [{} mask]: warning: the full model {} on {}: its normalised scores there are "
          "undefined, and so is every separation, which averages over all subroutines; this "
          "model's masks will not be scored (score: clamped scores them)",
          model.label, name_of(target),
          config.metric == Metric::kLoss
              ? fmt::format("does not remove {:g}% of the constant prediction's loss",
                            100 * kMinLift)
              : fmt::format("is not {} above chance", kMinLift),
          fmt::join(flat, ", ")));
  }
  int64_t all_weights = 0;
  for (const MaskUnit& u : r.units) all_weights += u.numel();

  for (const tasks::Subroutine& w : wanted) {
    const size_t k =
        std::find(r.subroutines.begin(), r.subroutines.end(), w.name) - r.subroutines.begin();
    if (k == n || !doing(w.name)) continue;  // left out above, or probed by another call
    const auto t_sub = Clock::now();
    SubroutineProbe sp;
    sp.index = k;
    const std::string who = fmt::format("{} [{} mask] {}", model.label, name_of(target), w.name);

    // The training data: one fixed set of instances, as the reference's fixed dataset (the same
    // for every configuration, seed and the untrained control; seeds change the order of the
    // steps), or new instances every epoch.
    SubroutineSet fixed;
    if (!config.fresh_tasks) {
      fixed = make_set(k, config.train_tasks, stream(kTrainSet, numbers[k]));
      prepare(*masked, fixed);
    }
    // Measured on the selection rows, which do not change with fresh_tasks.
    const double scale = loss_scale(config, family.target_kind(), select[k].chance_loss);
    if (scale != 1.0)
      say(fmt::format(
          "{}: sparsity penalty x {:.4g} (the constant prediction's loss {:.4g} / ln 2)", who,
          scale, select[k].chance_loss));
    const auto train_on = [&](MaskedPolicy& m, int s, const MaskSetting& setting) {
      if (!config.fresh_tasks)
        return train_mask(m, fixed.batches, config, setting, stream(kOrder, numbers[k], s), scale);
      SubroutineSet current;
      int drawn = -1;
      const EpochBatches epoch_batches =
          [&](int epoch) -> const std::vector<std::vector<trainer::Batch>>& {
        if (epoch != drawn) {
          release(m, current);
          current =
              make_set(k, config.train_tasks,
                       derive_seed(base, {kTrainSet, static_cast<uint64_t>(numbers[k]),
                                          static_cast<uint64_t>(s), static_cast<uint64_t>(epoch)}));
          prepare(m, current);
          drawn = epoch;
        }
        return current.batches;
      };
      MaskTraining t =
          train_mask(m, epoch_batches, config, setting, stream(kOrder, numbers[k], s), scale);
      release(m, current);
      return t;
    };

    // The search, with the first mask seed, scored on the selection sets.
    std::vector<std::vector<torch::Tensor>> logits;
    const size_t total =
        config.search.lr.size() * config.search.init.size() * config.search.layers.size();
    for (double lr : config.search.lr)
      for (double init : config.search.init)
        for (const std::string& layers : config.search.layers) {
          SearchEntry e;
          e.setting = {lr, init, layers};
          e.training = train_on(*masked, 0, e.setting);
          logits.push_back(std::move(e.training.logits));
          e.training.logits.clear();
          const MaskValues hard = hard_mask(logits.back());
          const std::vector<double> sub = accuracies(*masked, select, hard);
          const std::vector<double> abl = accuracies(*masked, select, ablation_of(hard));
          e.target_accuracy = sub[k];
          e.full_accuracy = full_select[k];
          e.ablation_score = separation(abl, chance_select, full_select, k, config.score);
          if (!std::isfinite(e.ablation_score)) e.ablation_score = 0.0;  // a full model at chance
          e.kept = kept_fraction(hard);
          const int64_t kept = kept_weights(hard);
          e.removed = masked_weights(hard) - kept;
          // A mask that keeps every weight it covers is the model itself, and its ablation
          // removes all of them: it tests nothing, however well it scores.
          e.passes = kept > 0 && kept < masked_weights(hard) &&
                     e.target_accuracy >= config.search.min_accuracy * e.full_accuracy;
          sp.search.push_back(e);
          say(fmt::format(
              "{}: search {}/{} lr {} init {} layers {}: subnetwork {:.3f} (full {:.3f}), "
              "ablation score {:+.3f}, kept {:.1f}% ({} of {} weights removed), loss {:.4f} "
              "({:.1f}s)",
              who, sp.search.size(), total, lr, init, layers, e.target_accuracy, e.full_accuracy,
              e.ablation_score, 100 * e.kept, e.removed, all_weights, e.training.final_loss,
              e.training.seconds));
        }
    sp.chosen = choose(sp.search);
    sp.threshold_met = sp.chosen >= 0;
    if (!sp.threshold_met) {
      // No configuration keeps the subroutine: take the one that keeps it best, and say so.
      sp.chosen = 0;
      for (size_t i = 1; i < sp.search.size(); ++i)
        if (sp.search[i].target_accuracy > sp.search[sp.chosen].target_accuracy)
          sp.chosen = static_cast<int>(i);
    }
    const MaskSetting chosen = sp.search[sp.chosen].setting;
    say(fmt::format("{}: chosen lr {} init {} layers {}{}", who, chosen.lr, chosen.init,
                    chosen.layers,
                    sp.threshold_met ? "" : " (no configuration reached the accuracy threshold)"));

    for (int s = 0; s < config.seeds; ++s) {
      MaskResult mr;
      mr.seed = static_cast<uint64_t>(s);
      std::vector<torch::Tensor> mask_logits;
      if (s == 0) {
        mask_logits = logits[sp.chosen];
        mr.seconds = sp.search[sp.chosen].training.seconds;
      } else {
        MaskTraining t = train_on(*masked, s, chosen);
        mask_logits = std::move(t.logits);
        mr.seconds = t.seconds;
      }
      const MaskValues hard = hard_mask(mask_logits);
      mr.kept = kept_fraction(hard);
      mr.subnetwork = accuracies(*masked, test, hard);
      mr.ablated = accuracies(*masked, test, ablation_of(hard));
      Rng rng(stream(kRandomAblation, numbers[k], s));
      for (int d = 0; d < config.random_ablations; ++d)
        mr.random_ablated.push_back(accuracies(*masked, test, random_ablation(hard, rng)));

      if (config.random_model && model.untrained) {
        std::unique_ptr<trainer::Learner> untrained =
            model.untrained(stream(kRandomModel, numbers[k], s));
        std::unique_ptr<MaskedPolicy> um = MaskedPolicy::make(target, *untrained);
        for (size_t j = 0; j < n; ++j) prepare(*um, test[j]);
        if (!config.fresh_tasks) prepare(*um, fixed);
        const MaskTraining ut = train_on(*um, s, chosen);
        const MaskValues uh = hard_mask(ut.logits);
        mr.untrained = true;
        mr.untrained_full = accuracies(*um, test, MaskValues(r.units.size()));
        mr.untrained_subnetwork = accuracies(*um, test, uh);
        mr.untrained_ablated = accuracies(*um, test, ablation_of(uh));
        mr.untrained_kept = kept_fraction(uh);
      }
      const auto sep = [&](const std::vector<double>& acc) {
        return separation(acc, r.chance, r.full, k, config.score);
      };
      sp.masks.push_back(mr);
      say(fmt::format(
          "{}: mask {}/{}: subnetwork {:+.3f}, ablation {:+.3f}{}, kept {:.1f}% ({:.1f}s)", who,
          s + 1, config.seeds, sep(mr.subnetwork), sep(mr.ablated),
          mr.untrained ? fmt::format(" (untrained model: {:+.3f}, {:+.3f})",
                                     sep(mr.untrained_subnetwork), sep(mr.untrained_ablated))
                       : "",
          100 * mr.kept, mr.seconds));
    }
    if (!config.fresh_tasks) release(*masked, fixed);
    sp.seconds = seconds_since(t_sub);
    say(fmt::format("{}: done in {:.1f}s", who, sp.seconds));
    r.probes.push_back(std::move(sp));
  }
  r.seconds = seconds_since(t0);
  return r;
}

}  // namespace hc::probe
