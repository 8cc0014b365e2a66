// A training run's configuration: the `family`, `policy`, `learner`, `train` and `eval`
// sections of a YAML file, with `section.key=value` overrides from the command line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "agents/factory.h"
#include "agents/precision.h"
#include "base/config.h"
#include "tasks/task_family.h"
#include "trainer/inner.h"

namespace hc::trainer {

enum class LearnerKind { kMaml, kImitation };
enum class Schedule { kConstant, kCosine };
enum class Parallel { kShards, kIntraOp };

}  // namespace hc::trainer

template <>
struct hc::EnumNames<hc::trainer::LearnerKind> {
  using K = hc::trainer::LearnerKind;
  static constexpr std::pair<K, const char*> values[] = {{K::kMaml, "maml"},
                                                         {K::kImitation, "imitation"}};
};
template <>
struct hc::EnumNames<hc::trainer::Schedule> {
  using S = hc::trainer::Schedule;
  static constexpr std::pair<S, const char*> values[] = {{S::kConstant, "constant"},
                                                         {S::kCosine, "cosine"}};
};
template <>
struct hc::EnumNames<hc::trainer::Parallel> {
  using P = hc::trainer::Parallel;
  static constexpr std::pair<P, const char*> values[] = {{P::kShards, "shards"},
                                                         {P::kIntraOp, "intra_op"}};
};

namespace hc::trainer {

struct LearnerConfig {
  LearnerKind name = LearnerKind::kMaml;
  int meta_batch = 128;
  InnerKind inner_optimizer = InnerKind::kAdamw;
  double inner_lr = 0.3;
  int inner_steps = 10;
  double inner_weight_decay = 1e-4;
  double inner_grad_clip = 0.0;
  double inner_eps_root = 1.1920928955078125e-07;  // float32 machine epsilon
  bool first_order = false;
  bool fused_inner = true;
  double outer_lr = 1e-3;
  Schedule outer_schedule = Schedule::kConstant;
  double outer_weight_decay = 1e-2;
  double grad_clip = 1.0;
  agents::Precision precision = agents::Precision::kFp32;

  template <class V>
  void fields(V& v) {
    v("name", name, "maml (bilevel meta-learning) or imitation (conditioned on the true latent)");
    v("meta_batch", meta_batch, "tasks per outer step", in_range(1, 65536));
    v("inner_optimizer", inner_optimizer, "differentiable inner optimiser");
    v("inner_lr", inner_lr, "inner learning rate", in_range(1e-8, 1e3));
    v("inner_steps", inner_steps, "inner (adaptation) steps on the support set",
      in_range(0, 10000));
    v("inner_weight_decay", inner_weight_decay, "adamw: inner weight decay", in_range(0.0, 10.0));
    v("inner_grad_clip", inner_grad_clip,
      "clip each task's inner gradient to this global norm (0: no clipping)", in_range(0.0, 1e9));
    v("inner_eps_root", inner_eps_root,
      "adam, adamw: added to the second moment inside the square root (optax's eps_root); the "
      "default keeps second-order meta-gradients finite at zero gradients, 0 is optax's default",
      in_range(0.0, 1.0));
    v("first_order", first_order, "drop second-order terms of the meta-gradient");
    v("fused_inner", fused_inner,
      "first-order inner loops of linear hypernetworks that adapt only their input layer run "
      "fused, one pass per task and step (trainer/inner_fused.h); false: the generic loop (the "
      "same values up to float rounding)");
    v("outer_lr", outer_lr, "outer AdamW learning rate", in_range(1e-8, 10.0));
    v("outer_schedule", outer_schedule,
      "outer learning rate over the run: constant, or cosine (decays to zero at train.steps)");
    v("outer_weight_decay", outer_weight_decay, "outer AdamW weight decay", in_range(0.0, 10.0));
    v("grad_clip", grad_clip, "clip the meta-gradient's global norm (0: no clipping)",
      in_range(0.0, 1e9));
    v("precision", precision,
      "operands of the large per-task matrix products: fp32, or bf16 (bfloat16 operands, "
      "float32 sums; on CPUs without AVX512-BF16 or AMX it runs as fp32)");
  }
};

struct TrainConfig {
  int64_t steps = 1000;
  uint64_t seed = 2023;
  int64_t eval_every = 1000;
  int64_t checkpoint_every = 1000;
  int64_t log_every = 0;
  int shards = 2;
  int threads = 0;
  Parallel parallel = Parallel::kShards;

  template <class V>
  void fields(V& v) {
    v("steps", steps, "outer steps", in_range<int64_t>(1, 1'000'000'000));
    v("seed", seed, "seed of the initialisation and of the task and data streams");
    v("eval_every", eval_every, "evaluate every this many steps (and at the end)",
      in_range<int64_t>(1, 1'000'000'000));
    v("checkpoint_every", checkpoint_every, "checkpoint every this many steps (and at the end)",
      in_range<int64_t>(1, 1'000'000'000));
    v("log_every", log_every, "train records every this many steps (0: about 100 per run)",
      in_range<int64_t>(0, 1'000'000'000));
    v("shards", shards,
      "fixed groups the meta-batch is split into; the result does not depend on the thread "
      "count (use a multiple of the thread count)",
      in_range(1, 4096));
    v("threads", threads, "worker threads (0: one per core)", in_range(0, 1024));
    v("parallel", parallel,
      "shards: shards run at once on the threads, one torch thread each; intra_op: shards run "
      "one after another on torch's own threads");
  }
};

struct EvalConfig {
  int tasks = 256;
  int identification_tasks = 256;
  int closed_loop_tasks = 64;
  bool identification = true;
  double ridge_l2 = 1.0;
  bool ridge_intercept = true;
  bool closed_loop = true;

  template <class V>
  void fields(V& v) {
    v("tasks", tasks, "tasks in each evaluation set (test, valid, ood, ood by hotness)",
      in_range(1, 1'000'000));
    v("identification", identification, "fit the true latents from the adapted parameters");
    v("identification_tasks", identification_tasks, "tasks used to fit and score the decoder",
      in_range(2, 1'000'000));
    v("ridge_l2", ridge_l2, "identification: l2 penalty of the ridge decoder",
      positive() && in_range(0.0, 1e9));
    v("ridge_intercept", ridge_intercept,
      "identification: the ridge decoder has an (unpenalised) intercept");
    v("closed_loop", closed_loop, "environment families: act with the adapted policy");
    v("closed_loop_tasks", closed_loop_tasks, "episodes per split for the closed-loop score",
      in_range(1, 1'000'000));
  }
};

struct RunConfig {
  std::string file;           // where it was read from, for messages
  YAML::Node family_section;  // the resolved `family` section
  std::shared_ptr<tasks::TaskFamily> family;
  agents::PolicyConfig policy;
  LearnerConfig learner;
  TrainConfig train;
  EvalConfig eval;

  // The whole resolved configuration, as written to a run directory.
  YAML::Node to_yaml() const;
  // train.threads resolved: 0 is one per core, shared by the `local_ranks` processes of a
  // distributed run on this machine.
  int threads(int local_ranks = 1) const;
  // The run's policy, initialised from train.seed, with the family's input and output sizes (and
  // the latent size for imitation).
  agents::Policy make_policy() const;
};

// Reads a config file, applies overrides ("section.key=value") and validates everything.
RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from the text of a config file; `path` names it in errors.
RunConfig load_run_config_text(const std::string& text, const std::string& path,
                               const std::vector<std::string>& overrides = {});
RunConfig parse_run_config(const YAML::Node& root, const std::string& file);

// Whether a configuration stored by the build that wrote a run (its resolved text) describes
// the run whose text this build resolves to `resolved`: a later build may know keys the older
// one did not, with defaults that keep the old behaviour. `path` names the stored text.
bool same_run_config(const std::string& stored, const std::string& resolved,
                     const std::string& path);

}  // namespace hc::trainer
