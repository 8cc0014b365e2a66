// Bilevel meta-learning (MAML-style) of a policy's meta-parameters, and the task-conditioned
// imitation baseline. One outer step: for every task of the meta-batch, reset the fast
// parameters, take K differentiable inner steps on the support loss, score the query loss;
// back-propagate the mean query loss to the meta-parameters (through the whole inner loop, or
// first order), clip the global norm, skip non-finite meta-gradients, AdamW step.
//
// Parallelism: the meta-batch is split into shards processed at once on TBB workers, each with
// a single LibTorch thread; shard gradients are summed in a fixed order, so a run is bitwise
// reproducible for a given thread count (train.parallel = intra_op instead gives one shard to
// LibTorch's own threads).
//
// In a group of processes (distributed.h) each rank is given only its own shards; the local sum
// of their gradients is then summed across ranks, so every rank applies the same update.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <optional>
#include <vector>

#include "agents/policy.h"
#include "trainer/batch.h"
#include "trainer/config.h"
#include "trainer/distributed.h"
#include "trainer/inner.h"

namespace hc::trainer {

struct StepStats {
  double loss = 0.0;            // mean query loss (meta-learning) or training loss (imitation)
  double grad_norm = 0.0;       // global norm before clipping
  bool skipped = false;         // non-finite meta-gradient: no update
  double support_before = 0.0;  // mean support loss before adaptation
  double support_after = 0.0;   // mean support loss before the last inner step
};

// Adapted fast parameters of one batch and the support losses around adaptation.
struct Adapted {
  agents::Fast fast;
  torch::Tensor support_before, support_after;  // [T]
};

// The outer learning rate before step `step` (0-based) of a run of `steps` steps.
double outer_lr_at(const LearnerConfig& config, int64_t step, int64_t steps);

class Learner {
 public:
  Learner(agents::Policy policy, const LearnerConfig& config, int threads, bool shards);

  StepStats step(const std::vector<Batch>& shards);
  // The meta-gradient of the mean query loss over all shards (summed in shard order, then
  // across the group's ranks), without updating anything; step() applies it. Returns one tensor
  // per policy parameter.
  std::vector<torch::Tensor> meta_gradient(const std::vector<Batch>& shards, StepStats& stats);
  // Fast parameters for each task of `b`: adapted on its support set (meta-learning; no graph
  // for a meta-gradient is kept) or derived from the true latent (imitation). `inner_steps`
  // replaces learner.inner_steps for this call (meta-learning only): what adaptation reaches
  // with more or fewer steps than the policy was trained with.
  Adapted adapt(const Batch& b, std::optional<int> inner_steps = std::nullopt);
  // Runs fn(i) for every shard index in parallel the way steps do (one torch thread each).
  void for_shards(size_t n, const std::function<void(size_t)>& fn);

  agents::Policy& policy() { return policy_; }
  torch::optim::AdamW& optimizer() { return *optimizer_; }
  // Sets the outer learning rate for the coming steps (schedules).
  void set_outer_lr(double lr);
  const LearnerConfig& config() const { return config_; }
  bool imitation() const { return config_.name == LearnerKind::kImitation; }
  int64_t skipped_steps() const { return skipped_; }
  void set_skipped_steps(int64_t n) { skipped_ = n; }
  int threads() const { return threads_; }
  // Makes steps collective: this process holds only its rank's shards of each meta-batch of
  // learner.meta_batch tasks. The group must outlive the learner's steps.
  void set_group(Group* group) { group_ = group; }
  Group* group() const { return group_; }

 private:
  // Per-shard work of one step: the shard's share of the loss and its meta-gradient.
  struct ShardResult {
    std::vector<torch::Tensor> grads;
    double loss = 0, before = 0, after = 0;
  };
  ShardResult shard_step(const Batch& b, int64_t total_tasks);
  Adapted adapt_inner(const Batch& b, int steps, bool create_graph,
                      agents::Features* support_features);
  void sum_across_ranks(std::vector<torch::Tensor>& grads, StepStats& stats);

  agents::Policy policy_;
  LearnerConfig config_;
  InnerOptimizer inner_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<torch::Tensor> params_;
  int threads_;
  bool shards_;
  int64_t skipped_ = 0;
  Group* group_ = nullptr;
};

}  // namespace hc::trainer
