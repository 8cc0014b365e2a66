#include "tasks/check.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <set>

#include "base/error.h"

namespace hc::tasks {
namespace {

// Task ids a support trains on, re-derived from the support's definition by enumerating the
// allowed combinations (not by testing membership the way TaskSpace::split does).
std::set<int64_t> defined_train_set(const TaskSpace& space, Support s, int train_hot,
                                    const std::vector<int64_t>& candidates,
                                    const std::vector<int64_t>& listed = {}) {
  std::set<int64_t> out;
  const int m = space.modules();
  // Disconnected: singles of one half, or pairs of one half, in every group.
  std::set<int> connected, singles[2], pairs[2];
  for (int i = 0; i < m; ++i) {
    connected.insert(1 << i);
    connected.insert((1 << i) | (1 << (i + 1) % m));
    connected.insert((1 << i) | (1 << (i + 2) % m));
  }
  for (int h = 0; h < 2; ++h) {
    const int lo = h * (m / 2), hi = h ? m : m / 2;
    for (int i = lo; i < hi; ++i) {
      singles[h].insert(1 << i);
      for (int j = i + 1; j < hi; ++j) pairs[h].insert((1 << i) | (1 << j));
    }
  }
  for (int64_t id : candidates) {
    const auto& v = space.task(id).values;
    const auto all_in = [&](const std::set<int>& allowed) {
      return std::all_of(v.begin(), v.end(), [&](int mask) { return allowed.count(mask) > 0; });
    };
    bool in = false;
    switch (s) {
      case Support::kKHot:
        in = true;
        break;
      case Support::kConnected:
        in = all_in(connected);
        break;
      case Support::kDisconnected:
        in = all_in(singles[0]) || all_in(singles[1]) || all_in(pairs[0]) || all_in(pairs[1]);
        break;
      case Support::kNonCompositional:
        in = space.categorical()
                 ? v.front() != static_cast<int>(space.factors().front().values.size()) - 1
                 : !(v.back() >> (m - 1) & 1);
        break;
      case Support::kListed:
      case Support::kRandom:
        break;
    }
    if (in) out.insert(id);
  }
  if (s == Support::kListed) out.insert(listed.begin(), listed.end());
  (void)train_hot;
  return out;
}

// Every factor value (or module of every group) appears in some task of `ids`.
bool covers(const TaskSpace& space, const std::vector<int64_t>& ids) {
  if (space.categorical()) {
    for (size_t f = 0; f < space.factors().size(); ++f) {
      std::set<int> seen;
      for (int64_t id : ids) seen.insert(space.task(id).values[f]);
      if (seen.size() != space.factors()[f].values.size()) return false;
    }
    return true;
  }
  for (int g = 0; g < space.groups(); ++g) {
    std::set<int> seen;
    for (int64_t id : ids)
      for (int mod = 0; mod < space.modules(); ++mod)
        if (space.task(id).values[g] >> mod & 1) seen.insert(mod);
    if (static_cast<int>(seen.size()) != space.modules()) return false;
  }
  return true;
}

}  // namespace

std::vector<int64_t> sample_tasks(const TaskFamily& f, const CheckOptions& o) {
  std::vector<int64_t> ids;
  Rng rng(derive_seed(o.seed, {0x7a5c}));
  const auto pick = [&](const std::vector<int64_t>& from, int n) {
    for (int i = 0; i < n && !from.empty(); ++i) ids.push_back(from[rng.uniform_int(from.size())]);
  };
  pick(f.splits().train, (o.tasks + 1) / 2);
  pick(f.splits().ood, o.tasks / 2);
  for (const auto& [h, hot] : f.splits().ood_by_hotness) pick(hot, 2);
  return ids;
}

std::string where(const TaskFamily& f, int64_t id, uint64_t seed) {
  return fmt::format("{} task {} ({}) seed {}", f.name(), id,
                     f.task_space().describe(f.task_space().task(id)), seed);
}

void CheckReport::expect(bool condition, const std::string& what) {
  ++checked;
  if (!condition && failures.size() < 50) failures.push_back(what);
}

std::string CheckReport::summary() const {
  std::string s = fmt::format("{} assertions, {} failures", checked, failures.size());
  for (const auto& f : failures) s += "\n  " + f;
  return s;
}

void check_splits(const TaskFamily& f, const CheckOptions& o, CheckReport& r) {
  const TaskSpace& space = f.task_space();
  for (const auto& [support, name] : EnumNames<Support>::values) {
    SplitSpec spec = f.split_spec();
    spec.support = support;
    if (!space.supports(spec.support)) continue;
    // A list of tasks is part of a family's own configuration; other families have none.
    if (support == Support::kListed && spec.listed.empty()) continue;
    const std::string tag = fmt::format("{} support {}", f.name(), name);
    Splits a, b;
    try {
      a = space.split(spec, f.seed());
      b = space.split(spec, f.seed());
    } catch (const Error& e) {
      r.expect(false, tag + ": split failed: " + e.what());
      continue;
    }
    r.expect(a.train == b.train && a.ood == b.ood && a.ood_by_hotness == b.ood_by_hotness,
             tag + ": not deterministic for one seed");
    std::set<int64_t> train(a.train.begin(), a.train.end()), ood(a.ood.begin(), a.ood.end());
    r.expect(train.size() == a.train.size() && ood.size() == a.ood.size(),
             tag + ": duplicate task ids");
    bool disjoint = true;
    for (int64_t id : a.ood) disjoint = disjoint && !train.count(id);
    // Hotness sets: untrained tasks with every group exactly h-hot, from the OOD split up to the
    // trained hotness, and every such task above it (every h-hot task, trained ones included,
    // when the family draws held-out data differently from training data).
    const int trained_hot = spec.train_hot == 0 ? space.max_hot() : spec.train_hot;
    for (const auto& [h, ids] : a.ood_by_hotness) {
      for (int64_t id : ids) {
        const auto& v = space.task(id).values;
        const bool exact = std::all_of(v.begin(), v.end(), [&, h = h](int mask) {
          return std::popcount(static_cast<unsigned>(mask)) == h;
        });
        r.expect(exact, fmt::format("{}: task {} in the {}-hot OOD set has a group of another "
                                    "hotness",
                                    tag, id, h));
        if (!spec.hotness_sets_include_trained)
          disjoint = disjoint && !train.count(id) && (h > trained_hot || ood.count(id));
      }
      size_t want = 0;
      for (int64_t id = 0; id < space.size(); ++id) {
        const auto& v = space.task(id).values;
        const bool exact = std::all_of(v.begin(), v.end(), [&, h = h](int mask) {
          return std::popcount(static_cast<unsigned>(mask)) == h;
        });
        want += exact && (spec.hotness_sets_include_trained || h > trained_hot || ood.count(id));
      }
      r.expect(ids.size() == want, fmt::format("{}: the {}-hot OOD set has {} tasks, the "
                                               "definition gives {}",
                                               tag, h, ids.size(), want));
    }
    r.expect(disjoint, tag + ": train and OOD sets overlap");

    // Candidates: tasks of at most the trained hotness.
    std::vector<int64_t> candidates;
    for (int64_t id = 0; id < space.size(); ++id) {
      const Task& t = space.task(id);
      int h = 0;
      for (int mask : t.values) h = std::max(h, std::popcount(static_cast<unsigned>(mask)));
      if (space.categorical() || spec.train_hot == 0 || h <= spec.train_hot)
        candidates.push_back(id);
    }
    r.expect(train.size() + ood.size() <= candidates.size(),
             fmt::format("{}: {} train + {} OOD tasks exceed the {} candidates", tag, train.size(),
                         ood.size(), candidates.size()));
    if (spec.support == Support::kRandom) {
      const auto want = static_cast<size_t>(std::floor(spec.frac_ood * candidates.size()));
      r.expect(a.ood.size() == want && a.train.size() + a.ood.size() == candidates.size(),
               fmt::format("{}: {} train / {} OOD, expected {} / {}", tag, a.train.size(),
                           a.ood.size(), candidates.size() - want, want));
      r.expect(covers(space, a.train), tag + ": some factor value / module is never trained");
      SplitSpec other = spec;
      Splits c = space.split(other, f.seed() + 1);
      r.expect(c.ood != a.ood || a.ood.empty(), tag + ": another seed gave the same OOD set");
    } else {
      const std::set<int64_t> want =
          defined_train_set(space, spec.support, spec.train_hot, candidates, spec.listed);
      r.expect(train == want, fmt::format("{}: {} training tasks, the definition gives {}", tag,
                                          train.size(), want.size()));
      std::set<int64_t> want_ood;
      if (spec.support == Support::kConnected || spec.support == Support::kDisconnected) {
        const auto con = defined_train_set(space, Support::kConnected, spec.train_hot, candidates);
        const auto dis =
            defined_train_set(space, Support::kDisconnected, spec.train_hot, candidates);
        for (int64_t id : candidates)
          if (!con.count(id) && !dis.count(id)) want_ood.insert(id);
      } else {
        for (int64_t id : candidates)
          if (!want.count(id)) want_ood.insert(id);
      }
      r.expect(ood == want_ood, fmt::format("{}: {} OOD tasks, the definition gives {}", tag,
                                            ood.size(), want_ood.size()));
      if (spec.support == Support::kNonCompositional)
        r.expect(!covers(space, a.train), tag + ": the held-out value appears in training");
      if (spec.support == Support::kConnected || spec.support == Support::kKHot)
        r.expect(covers(space, a.train), tag + ": some module is never trained");
    }
  }
}

void check_datasets(const TaskFamily& f, const CheckOptions& o, CheckReport& r) {
  const TaskSpace& space = f.task_space();
  const int in = f.input_dim(), out = f.output_dim();
  const TargetKind kind = f.target_kind();
  for (int64_t id : sample_tasks(f, o)) {
    const uint64_t seed = derive_seed(o.seed, {static_cast<uint64_t>(id), 11});
    const TaskData d = f.make_task_data(space.task(id), seed);
    const TaskData again = f.make_task_data(space.task(id), seed);
    const std::string w = where(f, id, seed);
    r.expect(d.latent.size() == static_cast<size_t>(space.latent_dim()), "latent size: " + w);
    r.expect(d.task.id == id, "task id changed: " + w);
    for (const Dataset* ds : {&d.support, &d.query}) {
      const size_t n = static_cast<size_t>(ds->rows);
      r.expect(ds->rows > 0, "empty dataset: " + w);
      const bool real_valued = kind == TargetKind::kActions || kind == TargetKind::kRegression;
      const size_t n_labels = real_valued ? 0 : n;
      r.expect(ds->inputs.size() == n * in && ds->labels.size() == n_labels && ds->mask.size() == n,
               "inconsistent dataset sizes: " + w);
      r.expect(kind == TargetKind::kLabels ? ds->targets.empty() : ds->targets.size() == n * out,
               "targets size does not match the target kind: " + w);
      bool labels_ok = true, inputs_ok = true, soft_ok = true, steps_ok = true;
      for (size_t i = 0; i < n_labels; ++i)
        labels_ok = labels_ok && ds->labels[i] >= 0 && ds->labels[i] < out;
      // Action vectors and regression targets are finite (action bounds are the environment's,
      // checked there).
      if (real_valued)
        for (float t : ds->targets) labels_ok = labels_ok && std::isfinite(t);
      for (float x : ds->inputs)
        inputs_ok = inputs_ok && std::isfinite(x) && (!f.binary_inputs() || x == 0.0f || x == 1.0f);
      if (kind == TargetKind::kSoft)
        for (size_t i = 0; i < n; ++i) {
          const float* t = ds->targets.data() + i * out;
          double sum = 0;
          for (int c = 0; c < out; ++c) sum += t[c];
          soft_ok = soft_ok && std::abs(sum - 1.0) < 1e-4 &&
                    std::max_element(t, t + out) - t == ds->labels[i];
        }
      if (ds->episodes > 0) {
        steps_ok = ds->episode.size() == n && ds->step.size() == n;
        for (size_t i = 0; steps_ok && i < n; ++i) {
          const bool first = i == 0 || ds->episode[i] != ds->episode[i - 1];
          steps_ok = first ? ds->step[i] == 0 && ds->episode[i] == (i ? ds->episode[i - 1] + 1 : 0)
                           : ds->step[i] == ds->step[i - 1] + 1;
        }
        steps_ok = steps_ok && ds->episode.back() + 1 == ds->episodes;
      }
      r.expect(labels_ok, "label out of range: " + w);
      r.expect(inputs_ok, "non-finite (or non-binary) input: " + w);
      r.expect(soft_ok, "soft targets not a distribution with argmax = label: " + w);
      r.expect(steps_ok, "episode/step bookkeeping inconsistent: " + w);
    }
    r.expect(d.support.inputs == again.support.inputs && d.query.inputs == again.query.inputs &&
                 d.support.labels == again.support.labels &&
                 d.query.targets == again.query.targets && d.latent == again.latent,
             "same seed gave different data: " + w);
  }
}

}  // namespace hc::tasks
