// A hand-made network whose subroutines use known paths, for the probe's tests.
#pragma once

#include "agents/factory.h"
#include "base/rng.h"
#include "tasks/task_family.h"
#include "trainer/probe/data.h"
#include "trainer/probe/search.h"

namespace hc::probe::testing {

// Rows of one-hot inputs over 4 features, and 5 classes: feature f is class f, class 4 is what a
// network answers when nothing reaches its output but the bias.
//   disjoint  task a shows features 0 and 1, task b features 2 and 3; subroutine a is task a,
//             subroutine b task b.
//   shared    both tasks show all four features; subroutine even counts the even rows of every
//             task, odd the odd rows: the same computation on the same kind of rows.
class TwoPaths : public tasks::TaskFamily {
 public:
  explicit TwoPaths(bool shared)
      : TaskFamily("two_paths", tasks::TaskSpace::categorical({{"part", {"a", "b"}}}),
                   tasks::SplitSpec{}, 1, false),
        shared_(shared) {}
  int input_dim() const override { return 4; }
  int output_dim() const override { return 5; }
  tasks::TargetKind target_kind() const override { return tasks::TargetKind::kLabels; }

  tasks::TaskData make_task_data(const tasks::Task& task, uint64_t seed) const override {
    tasks::TaskData d;
    d.task = instance(task, seed);
    d.latent = task_space().latent(d.task);
    Rng rng(seed);
    const auto fill = [&](tasks::Dataset& set, int rows) {
      for (int r = 0; r < rows; ++r) {
        const int f = shared_ ? static_cast<int>(rng.uniform_int(4))
                              : 2 * task.values[0] + static_cast<int>(rng.uniform_int(2));
        for (int j = 0; j < 4; ++j) set.inputs.push_back(j == f ? 1.0f : 0.0f);
        set.labels.push_back(f);
        set.mask.push_back(1.0f);
        ++set.rows;
      }
    };
    fill(d.support, 4);
    fill(d.query, 16);
    return d;
  }

  std::vector<tasks::Subroutine> subroutines() const override {
    if (shared_) {
      tasks::Subroutine even{"even", "even rows"}, odd{"odd", "odd rows"};
      even.counts_row = [](const tasks::Dataset&, int64_t r) { return r % 2 == 0; };
      odd.counts_row = [](const tasks::Dataset&, int64_t r) { return r % 2 == 1; };
      return {even, odd};
    }
    tasks::Subroutine a{"a", "features 0 and 1"}, b{"b", "features 2 and 3"};
    a.uses_task = [](const tasks::Task& t) { return t.values[0] == 0; };
    b.uses_task = [](const tasks::Task& t) { return t.values[0] == 1; };
    return {a, b};
  }

 protected:
  YAML::Node config_fields() const override { return YAML::Node(YAML::NodeType::Map); }

 private:
  bool shared_;
};

inline agents::PolicyConfig path_config() {
  agents::PolicyConfig c;
  c.name = agents::PolicyKind::kLearnedInit;
  c.hidden = 16;
  c.num_hidden = 1;
  return c;
}

// 4 -> 16 -> 5 with one path per feature: w0[f][f] = w1[f][f] = 3, every other weight zero, and
// an output bias of 1 on class 4. A feature whose path is cut leaves class 4 as the answer.
inline agents::Policy path_network() {
  agents::Policy p = agents::make_policy(path_config(), {4, 5, 0}, 1);
  torch::NoGradGuard no_grad;
  auto named = p->named_parameters();
  for (auto& kv : named) kv.value().zero_();
  for (int f = 0; f < 4; ++f) {
    named["w0"][f][f] = 3.0;
    named["w1"][f][f] = 3.0;
  }
  named["b1"][4] = 1.0;
  return p;
}

inline trainer::LearnerConfig no_adaptation() {
  trainer::LearnerConfig c;
  c.inner_steps = 0;  // the hand-made network is the network that predicts
  return c;
}

// The reference's procedure on a small budget: a few hundred mask steps, two settings.
inline ProbeConfig small_probe() {
  ProbeConfig c;
  c.epochs = 30;
  c.train_tasks = 8;
  c.batch = 4;
  c.select_tasks = 8;
  c.test_tasks = 16;
  c.seeds = 3;
  c.random_ablations = 5;
  c.search.lr = {1e-2};
  c.search.init = {0.0, -0.05};
  c.search.layers = {"all"};
  return c;
}

}  // namespace hc::probe::testing
