#include "trainer/probe/data.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "base/error.h"
#include "base/rng.h"
#include "trainer/open_loop.h"

namespace hc::probe {

std::vector<tasks::Subroutine> select_subroutines(const tasks::TaskFamily& family,
                                                  const std::vector<std::string>& names) {
  std::vector<tasks::Subroutine> all = family.subroutines();
  if (all.empty())
    throw Error(
        fmt::format("family '{}' declares no subroutines, and the probe needs them "
                    "(TaskFamily::subroutines(); see docs/adding-an-environment.md)",
                    family.name()));
  if (names.empty()) return all;
  std::vector<std::string> known;
  for (const auto& s : all) known.push_back(s.name);
  std::vector<tasks::Subroutine> out;
  for (const std::string& name : names) {
    const auto it = std::find(known.begin(), known.end(), name);
    if (it == known.end()) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      throw ConfigError(
          fmt::format("unknown subroutine '{}' of {} (known: {})", name, family.name(), list));
    }
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](const tasks::Subroutine& s) { return s.name == name; });
    if (!seen) out.push_back(all[it - known.begin()]);
  }
  return out;
}

SubroutineSet make_subroutine_set(const tasks::TaskFamily& family, const tasks::Subroutine& s,
                                  const std::vector<int64_t>& candidates, int count, int batch,
                                  int shards, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> ids(count);
  std::vector<uint64_t> seeds(count);
  for (int i = 0; i < count; ++i) {
    ids[i] = candidates[rng.uniform_int(candidates.size())];
    seeds[i] = rng.next();
  }
  std::vector<tasks::TaskData> data = trainer::generate(family, ids, seeds);
  SubroutineSet set;
  set.tasks = count;
  for (int i = 0; i < count; ++i) set.rows += s.select_rows(data[i], seeds[i]);
  if (set.rows == 0) return set;  // nothing to score on: the caller says so

  // Chance: the best constant prediction. Classes: the most frequent label (accuracy) or the
  // label frequencies (cross-entropy); action vectors: the mean action, scored with the
  // family's tolerance or by its squared error.
  set.chance_loss = std::nan("");
  if (family.target_kind() != tasks::TargetKind::kActions) {
    std::map<int32_t, int64_t> counts;
    for (const auto& d : data)
      for (int64_t r = 0; r < d.query.rows; ++r)
        if (d.query.mask[r] != 0.0f) ++counts[d.query.labels[r]];
    int64_t top = 0;
    for (const auto& [label, n] : counts) top = std::max(top, n);
    set.chance = static_cast<double>(top) / static_cast<double>(set.rows);
    if (family.target_kind() == tasks::TargetKind::kLabels) {
      set.chance_loss = 0.0;
      for (const auto& [label, n] : counts) {
        const double p = static_cast<double>(n) / static_cast<double>(set.rows);
        set.chance_loss -= p * std::log(p);
      }
    }
  } else {
    const int c = family.output_dim();
    std::vector<double> mean(c, 0.0);
    for (const auto& d : data)
      for (int64_t r = 0; r < d.query.rows; ++r)
        if (d.query.mask[r] != 0.0f)
          for (int j = 0; j < c; ++j) mean[j] += d.query.targets[r * c + j] / set.rows;
    int64_t hits = 0;
    double squared = 0.0;
    for (const auto& d : data)
      for (int64_t r = 0; r < d.query.rows; ++r) {
        if (d.query.mask[r] == 0.0f) continue;
        bool ok = true;
        for (int j = 0; j < c; ++j) {
          const double e = d.query.targets[r * c + j] - mean[j];
          ok = ok && std::abs(e) <= family.action_tolerance();
          squared += e * e;
        }
        hits += ok;
      }
    set.chance = static_cast<double>(hits) / static_cast<double>(set.rows);
    set.chance_loss = 0.5 * squared / static_cast<double>(set.rows);
  }

  for (int lo = 0; lo < count; lo += batch) {
    const int n = std::min(batch, count - lo);
    set.batches.push_back(trainer::pack_batches(family, std::span(data).subspan(lo, n),
                                                std::span(ids).subspan(lo, n),
                                                std::span(seeds).subspan(lo, n), shards));
  }
  return set;
}

double measure(MaskedPolicy& model, const SubroutineSet& set, const MaskValues& mask,
               double tolerance, Metric metric) {
  double total = 0.0;
  for (const std::vector<trainer::Batch>& shards : set.batches) {
    const std::vector<torch::Tensor> out = model.outputs(shards, mask);
    for (size_t i = 0; i < shards.size(); ++i) {
      const agents::Targets& y = shards[i].query.y;
      if (metric == Metric::kAccuracy) {
        total += trainer::correct_rows(out[i], y, tolerance).sum().item<double>();
      } else if (y.kind == tasks::TargetKind::kLabels) {
        const torch::Tensor nll = -(torch::log_softmax(out[i], -1) * y.one_hot).sum(-1);
        total += (nll * y.mask).sum().item<double>();
      } else if (y.kind == tasks::TargetKind::kActions) {
        const torch::Tensor se = 0.5 * (out[i] - y.values).square().sum(-1);
        total += (se * y.mask).sum().item<double>();
      } else {
        throw Error(
            fmt::format("probe.metric=loss scores class labels and action vectors, not {} targets",
                        tasks::to_string(y.kind)));
      }
    }
  }
  const double per_row = total / static_cast<double>(set.rows);
  if (metric == Metric::kAccuracy) return per_row;
  if (!(set.chance_loss > 0.0)) return std::nan("");
  // Floored at the constant's: a loss, unlike an accuracy, has no bound, and how far a broken
  // network lands beyond the constant measures the scale of its outputs, not its structure (on
  // the lander's narrow modules a removed mask put the loss at 11 to 27 times the constant's).
  return std::max(0.0, 1.0 - per_row / set.chance_loss);
}

double chance_of(const SubroutineSet& set, Metric metric) {
  return metric == Metric::kAccuracy ? set.chance : 0.0;
}

}  // namespace hc::probe
