// The tasks of a family: which modules or factor values they combine, the ground-truth latent,
// and the split of all tasks into training and held-out (OOD) sets by a task support.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/rng.h"

namespace hc::tasks {

// How training tasks are chosen among all tasks (Schug et al., 2024, section 3):
//  random            hold out frac_ood of the tasks; every factor value / module is still
//                    seen in training.
//  non_compositional all tasks using one value / module (the last one) are held out, so that
//                    value is never seen in training.
//  k_hot             train on combinations of at most train_hot modules, test on more.
//  connected         modules on a ring; train on single modules and the pairs (i, i+1) and
//                    (i, i+2): every module is connected to every other through training tasks.
//  disconnected      every group 1-hot, or every group 2-hot, with all modules of the task in
//                    the first half or all in the second half (the reference's definition).
//  listed            exactly the tasks a family's configuration lists (the reference's theory
//                    experiment names its supports by their module sets).
enum class Support { kRandom, kNonCompositional, kKHot, kConnected, kDisconnected, kListed };
}  // namespace hc::tasks

template <>
struct hc::EnumNames<hc::tasks::Support> {
  using S = hc::tasks::Support;
  static constexpr std::pair<S, const char*> values[] = {
      {S::kRandom, "random"},
      {S::kNonCompositional, "non_compositional"},
      {S::kKHot, "k_hot"},
      {S::kConnected, "connected"},
      {S::kDisconnected, "disconnected"},
      {S::kListed, "listed"}};
};

namespace hc::tasks {

inline std::string_view to_string(Support s) { return name_of(s); }

struct Task {
  int64_t id = -1;          // index into TaskSpace::task(id)
  std::vector<int> values;  // categorical: one value per factor; k-hot: a module bitmask per group
  std::vector<float> weights;  // k-hot: groups x modules combination weights (0 = inactive)
};

struct SplitSpec {
  Support support = Support::kRandom;
  double frac_ood = 0.25;  // random: fraction of the candidate tasks held out
  int train_hot = 0;       // k-hot spaces: most modules per group seen in training (0 = all)
  // k-hot spaces: the hotness h of each OOD-by-hotness set (every group exactly h modules);
  // empty: every h above train_hot.
  std::vector<int> ood_hotness;
  // listed: the training tasks (ids).
  std::vector<int64_t> listed;
  // The OOD-by-hotness sets hold every task of their hotness, trained ones included: for
  // families whose held-out data are drawn differently from their training data
  // (TaskFamily::make_held_out_data), so that a trained combination is still unseen there.
  bool hotness_sets_include_trained = false;
};

// The keys every family's config shares for its task split, declared once.
struct SplitConfig {
  uint64_t seed = 2023;
  Support support = Support::kRandom;
  double frac_ood = 0.25;

  // `allowed`: the supports that apply to the family's task space.
  template <class V>
  void fields(V& v, std::vector<Support> allowed) {
    v("seed", seed, "seed of the family's fixed parts (mazes, modules, teacher) and of its split");
    v("support", support, "task support of the split", one_of(std::move(allowed)));
    v("frac_ood", frac_ood, "random support: fraction of tasks held out", in_open_range(0.0, 1.0));
  }
  // The split spec, with the hotness seen in training for k-hot spaces (0: all) and the
  // hotness of the OOD-by-hotness sets (empty: every hotness above it).
  SplitSpec spec(int train_hot = 0, std::vector<int> ood_hotness = {}) const {
    SplitSpec s;
    s.support = support;
    s.frac_ood = frac_ood;
    s.train_hot = train_hot;
    s.ood_hotness = std::move(ood_hotness);
    return s;
  }
};

// Every support, for k-hot task spaces.
inline const std::vector<Support> kAllSupports = {Support::kRandom, Support::kNonCompositional,
                                                  Support::kKHot, Support::kConnected,
                                                  Support::kDisconnected};

struct Splits {
  std::vector<int64_t> train;  // in-distribution task ids (also used, with fresh seeds, as test)
  std::vector<int64_t> ood;    // held-out combinations of the trained hotness
  // k-hot: for each requested hotness h, the untrained tasks whose every group has exactly h
  // modules: drawn from `ood` for h up to the trained hotness, from all tasks above it (every
  // task of hotness h with SplitSpec::hotness_sets_include_trained).
  std::map<int, std::vector<int64_t>> ood_by_hotness;
};

class TaskSpace {
 public:
  struct Factor {
    std::string name;
    std::vector<std::string> values;  // value names
  };

  // Cartesian product of categorical factors; the latent is the concatenated one-hots.
  static TaskSpace categorical(std::vector<Factor> factors);
  // `groups` independent k-hot combinations of `modules` modules, each with 1..max_hot active
  // modules (e.g. one group per generated layer). The latent is the groups x modules weights.
  static TaskSpace k_hot(std::string module_name, int groups, int modules, int max_hot);

  bool categorical() const { return !factors_.empty(); }
  int64_t size() const { return static_cast<int64_t>(tasks_.size()); }
  // The task with this id; throws EnvError if out of range.
  const Task& task(int64_t id) const;
  // Throws EnvError unless `t` is a task of this space (values and weights in range).
  void validate(const Task& t) const;

  int latent_dim() const;
  void latent(const Task& t, std::span<float> out) const;
  std::vector<float> latent(const Task& t) const;
  // Most active modules in any group (k-hot); 1 for categorical tasks.
  int hotness(const Task& t) const;

  // Human-readable task, e.g. "quadrant=2 interaction=0 maze=4 object=1" or
  // "modules=[0,3]+[5]"; find() accepts this form or a plain task id.
  std::string describe(const Task& t) const;
  int64_t find(std::string_view text) const;

  // Draws continuous combination weights for a k-hot task, per group as the reference
  // implementation does: exponential draws divided by their sum plus one (so that a single
  // module's weight varies too), then shifted into [0.5, 1] (a no-op for categorical spaces).
  void draw_weights(Task& t, Rng& rng) const;

  // Which supports apply to this space.
  bool supports(Support s) const;
  // Deterministic given the seed; throws ConfigError if the spec cannot be met.
  Splits split(const SplitSpec& spec, uint64_t seed) const;
  // True if every factor value (or every module of every group) appears in some task of `ids`.
  bool covers_all_values(std::span<const int64_t> ids) const;

  const std::vector<Factor>& factors() const { return factors_; }
  int groups() const { return groups_; }
  int modules() const { return modules_; }
  int max_hot() const { return max_hot_; }
  const std::string& module_name() const { return module_name_; }

 private:
  std::vector<Factor> factors_;  // categorical spaces
  std::string module_name_;      // k-hot spaces
  int groups_ = 0, modules_ = 0, max_hot_ = 0;
  std::vector<Task> tasks_;
};

}  // namespace hc::tasks
