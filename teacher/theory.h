// theory: the teacher-student regression setting of the paper's theory (Schug et al., 2024,
// section 4; the reference's run_theory.py), where identification of the modules is guaranteed
// under compositional and connected support and fails without it.
//
// Description   A teacher network 16 -> 16 -> 4 without biases whose first layer is generated
//               by a linear hypernetwork from a task code over M modules (default 6):
//               W(z) = sum_m z_m H_m, h = ReLU(x W(z) / sqrt(16)), y = h A with a head A shared
//               by every task. H and A are drawn once from the seed (truncated normal, standard
//               deviation 1 / sqrt(fan-in), as the reference's initialisation).
// Modules       M; a task is a set of modules (a 1-group k-hot space of M modules, any hotness).
// Support       the training tasks are listed in `tasks`, in the reference's notation: module
//               sets separated by ';', modules by ',' ("0,1;1,2;2,0"); repeated modules count
//               once ("0,0" is module 0 alone), as in the reference's sweeps.
// Codes         training codes are the listed sets, k-hot and normalised to unit length, or with
//               `continuous`, weights drawn uniformly from the simplex and shifted into
//               [0.5, 1] (the reference's rule). Every held-out set draws continuous weights,
//               whatever training used (as the reference evaluates): a trained module set is
//               unseen there unless training was continuous too.
// Data          inputs uniform in [-sqrt(3), sqrt(3)]^16 (unit variance), targets the teacher's
//               outputs; 256 support and 256 query samples per task. The reference draws fresh
//               inputs for every inner step; here a task's support set is fixed (its 1,024
//               target values pin down a code of M entries many times over).
// Loss          0.5 * squared error averaged over the outputs (the reference's loss); metrics
//               add the loss relative to the targets' power and R^2.
// Splits        `listed`. OOD: every module set not listed; OOD by hotness: every set of
//               exactly h modules, h in ood_hotness (default 1..M), trained sets included (their
//               held-out codes are continuous; the reference's eval_<h/M> sets).
// Ground truth  the code is the latent; generated_bank() gives H for the template alignment.
#pragma once

#include <string>
#include <vector>

#include "base/config.h"
#include "tasks/task_family.h"

namespace hc::teacher {

struct TheoryConfig {
  uint64_t seed = 2023;
  std::string tasks = "0;1;2;3;4;5;0,1;1,2;2,3;3,4;4,5;5,0";
  bool continuous = false;
  int input_dim = 16;
  int hidden_dim = 16;
  int output_dim = 4;
  int num_modules = 6;
  std::vector<int> ood_hotness = {};
  int support_shots = 256;
  int query_shots = 256;

  template <class V>
  void fields(V& v) {
    v("seed", seed, "seed of the teacher's weights");
    v("tasks", tasks,
      "training module sets, the reference's notation: sets separated by ';', modules by ',' "
      "(e.g. \"0,1;1,2;2,0\")");
    v("continuous", continuous,
      "training codes draw continuous weights (else k-hot, normalised to unit length)");
    v("input_dim", input_dim, "teacher input size", in_range(1, 4096));
    v("hidden_dim", hidden_dim, "teacher hidden width (the generated layer's outputs)",
      in_range(1, 4096));
    v("output_dim", output_dim, "teacher outputs", in_range(1, 1024));
    v("num_modules", num_modules, "modules M of the teacher's hypernetwork", in_range(2, 16));
    v("ood_hotness", ood_hotness,
      "hotness h of the OOD sets of every h-module code ([]: 1..num_modules)");
    v("support_shots", support_shots, "samples per support set", in_range(1, 1000000));
    v("query_shots", query_shots, "samples per query set", in_range(1, 1000000));
  }
  void validate(const ConfigReader& r) const;
  // The listed module sets as bitmasks, in order; throws ConfigError naming the key.
  std::vector<int> module_sets(const ConfigReader* r = nullptr) const;
};

class TheoryFamily : public tasks::TaskFamily {
 public:
  static constexpr const char* kName = "theory";
  static constexpr const char* kSummary =
      "teacher-student regression of the paper's theory: a linear hypernetwork of the task's "
      "module code makes the first layer of a ReLU teacher";
  using Config = TheoryConfig;
  explicit TheoryFamily(const Config& config);

  int input_dim() const override { return config_.input_dim; }
  int output_dim() const override { return config_.output_dim; }
  tasks::TargetKind target_kind() const override { return tasks::TargetKind::kRegression; }
  tasks::TaskData make_task_data(const tasks::Task& task, uint64_t seed) const override;
  tasks::TaskData make_held_out_data(const tasks::Task& task, uint64_t seed) const override;
  std::optional<tasks::ModuleBank> generated_bank() const override;

  // Teacher outputs of `rows` inputs for a task's code (its weights).
  void teacher_outputs(const tasks::Task& task, const float* x, int rows, float* out) const;
  // The head A shared by every task, hidden_dim x output_dim.
  const std::vector<float>& head() const { return head_; }

 protected:
  YAML::Node config_fields() const override { return write_config(config_); }

 private:
  tasks::TaskData make_data(const tasks::Task& instance, uint64_t seed) const;

  Config config_;
  std::vector<float> bank_;  // M x input_dim x hidden_dim: H_m
  std::vector<float> head_;  // hidden_dim x output_dim: A
};

}  // namespace hc::teacher
