#include "trainer/meta_learner.h"

#include "agents/tensor_cache.h"
#include "base/error.h"
#include "base/parallel.h"
#include "trainer/inner_fused.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <tbb/partitioner.h>
#include <tbb/task_arena.h>

#include <cmath>
#include <optional>

namespace hc::trainer {

Learner::Learner(agents::Policy policy, const LearnerConfig& config, int threads, bool shards)
    : policy_(std::move(policy)), config_(config), threads_(threads), shards_(shards) {
  agents::install_tensor_cache();
  inner_.kind = config.inner_optimizer;
  inner_.lr = config.inner_lr;
  inner_.weight_decay = config.inner_weight_decay;
  inner_.grad_clip = config.inner_grad_clip;
  inner_.eps_root = config.inner_eps_root;
  params_ = policy_->parameters();
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      params_, torch::optim::AdamWOptions(config.outer_lr).weight_decay(config.outer_weight_decay));
  at::set_num_threads(shards_ ? 1 : threads_);
}

void Learner::for_shards(size_t n, const std::function<void(size_t)>& fn) {
  if (!shards_ || n <= 1 || threads_ <= 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  tbb::task_arena arena(threads_);
  arena.execute([&] {
    parallel_for(
        size_t{0}, n,
        [&](size_t i) {
          at::set_num_threads(1);  // this worker thread's own LibTorch/OpenMP setting
          fn(i);
        },
        tbb::simple_partitioner());
  });
}

Adapted Learner::adapt_inner(const Batch& b, int steps, bool create_graph,
                             agents::Features* fs_out) {
  if (!create_graph && !fs_out && config_.fused_inner)
    if (auto a = adapt_fused(*policy_, b, inner_, steps)) return std::move(*a);
  agents::Features fs = policy_->encode(b.support.x);
  if (!create_graph && fs.h.defined()) fs.h = fs.h.detach();
  Adapted a;
  a.fast = policy_->init_fast(b.tasks);
  InnerOptimizer::State state = inner_.init(a.fast);
  for (int k = 0; k < steps; ++k) {
    auto [loss, grads] = policy_->loss_and_grad(a.fast, fs, b.support.y, create_graph);
    if (k == 0) a.support_before = loss;
    a.support_after = loss;
    a.fast = inner_.step(a.fast, grads, state);
  }
  if (steps == 0) {
    torch::NoGradGuard no_grad;
    a.support_before = a.support_after =
        agents::task_loss(policy_->forward(a.fast, fs), b.support.y);
  }
  if (fs_out) *fs_out = fs;
  return a;
}

Learner::ShardResult Learner::shard_step(const Batch& b, int64_t total_tasks) {
  ShardResult r;
  torch::Tensor loss;
  // learner.precision applies from here on: to the query loss and the backward pass that
  // differentiates it, never to the inner loop (adapt_inner). Rounding in the inner loop moves
  // the point the whole loop is linearised at, and its adaptive steps amplify that a hundredfold
  // and more in the meta-gradient (float32 and float64 meta-gradients differ by a hundred
  // float32 roundoffs or more); in the backward pass an error stays of the order of the
  // roundoff (docs/performance.md, and the tests Bf16MetaGradient).
  std::optional<agents::PrecisionScope> precision;
  if (imitation()) {
    precision.emplace(config_.precision);
    // Behaviour cloning with the true latent, on the support and the query rows.
    const agents::Fast fast = policy_->fast_from_latent(b.latents);
    loss = (agents::task_loss(policy_->forward(fast, policy_->encode(b.support.x)), b.support.y) +
            agents::task_loss(policy_->forward(fast, policy_->encode(b.query.x)), b.query.y)) *
           0.5;
  } else {
    const Adapted a = adapt_inner(b, config_.inner_steps, !config_.first_order, nullptr);
    r.before = a.support_before.sum().item<double>();
    r.after = a.support_after.sum().item<double>();
    precision.emplace(config_.precision);
    loss = agents::task_loss(policy_->forward(a.fast, policy_->encode(b.query.x)), b.query.y);
  }
  const torch::Tensor shard_loss = loss.sum() / static_cast<double>(total_tasks);
  r.loss = shard_loss.item<double>();
  r.grads = torch::autograd::grad({shard_loss}, params_, {}, /*retain_graph=*/false,
                                  /*create_graph=*/false, /*allow_unused=*/true);
  return r;
}

std::vector<torch::Tensor> Learner::meta_gradient(const std::vector<Batch>& shards, StepStats& s) {
  int64_t total = 0;
  for (const auto& b : shards) total += b.tasks;
  if (group_) total = config_.meta_batch;  // the ranks' shards make one meta-batch
  std::vector<ShardResult> results(shards.size());
  for_shards(shards.size(), [&](size_t i) { results[i] = shard_step(shards[i], total); });
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads(params_.size());
  for (size_t p = 0; p < params_.size(); ++p) {
    for (const auto& r : results) {  // fixed order: reproducible sums
      if (!r.grads[p].defined()) continue;
      grads[p] = grads[p].defined() ? grads[p] + r.grads[p] : r.grads[p].clone();
    }
    if (!grads[p].defined()) grads[p] = torch::zeros_like(params_[p]);
  }
  s = StepStats{};
  for (const auto& r : results) {
    s.loss += r.loss;
    s.support_before += r.before / static_cast<double>(total);
    s.support_after += r.after / static_cast<double>(total);
  }
  if (group_) sum_across_ranks(grads, s);
  return grads;
}

void Learner::sum_across_ranks(std::vector<torch::Tensor>& grads, StepStats& s) {
  // One message per step: every parameter's gradient in one flat buffer.
  std::vector<torch::Tensor> flat_parts;
  for (const auto& g : grads) flat_parts.push_back(g.reshape({-1}));
  torch::Tensor flat = torch::cat(flat_parts);
  group_->sum(flat);
  int64_t offset = 0;
  for (auto& g : grads) {
    const int64_t n = g.numel();
    // Owned, not a view of `flat`: the optimizer resets gradients in place.
    g = flat.narrow(0, offset, n).view(g.sizes()).clone();
    offset += n;
  }
  torch::Tensor stats = torch::tensor({s.loss, s.support_before, s.support_after}, torch::kFloat64);
  group_->sum(stats);
  s.loss = stats[0].item<double>();
  s.support_before = stats[1].item<double>();
  s.support_after = stats[2].item<double>();
}

StepStats Learner::step(const std::vector<Batch>& shards) {
  StepStats s;
  std::vector<torch::Tensor> grads = meta_gradient(shards, s);
  torch::NoGradGuard no_grad;
  double sq = 0.0;
  for (const auto& g : grads) sq += g.to(torch::kFloat64).square().sum().item<double>();
  s.grad_norm = std::sqrt(sq);
  if (!std::isfinite(s.grad_norm)) {
    s.skipped = true;
    ++skipped_;
    return s;
  }
  const double scale = config_.grad_clip > 0.0 && s.grad_norm > config_.grad_clip
                           ? config_.grad_clip / (s.grad_norm + 1e-6)
                           : 1.0;
  for (size_t p = 0; p < params_.size(); ++p)
    params_[p].mutable_grad() = scale == 1.0 ? grads[p] : grads[p] * scale;
  optimizer_->step();
  optimizer_->zero_grad();
  return s;
}

double outer_lr_at(const LearnerConfig& config, int64_t step, int64_t steps) {
  if (config.outer_schedule == Schedule::kConstant || steps <= 1) return config.outer_lr;
  const double progress = static_cast<double>(step) / static_cast<double>(steps);
  return config.outer_lr * 0.5 * (1.0 + std::cos(M_PI * progress));
}

void Learner::set_outer_lr(double lr) {
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
}

Adapted Learner::adapt(const Batch& b, std::optional<int> inner_steps) {
  if (imitation()) {
    if (inner_steps)
      throw ConfigError(
          "inner_steps: this run imitates given the true task latent and takes no inner steps");
    torch::NoGradGuard no_grad;
    Adapted a;
    a.fast = policy_->fast_from_latent(b.latents);
    const agents::Features fs = policy_->encode(b.support.x);
    a.support_before = a.support_after =
        agents::task_loss(policy_->forward(a.fast, fs), b.support.y);
    return a;
  }
  if (inner_steps && *inner_steps < 0)
    throw ConfigError(fmt::format("inner_steps: expected a count >= 0, got {}", *inner_steps));
  Adapted a =
      adapt_inner(b, inner_steps.value_or(config_.inner_steps), /*create_graph=*/false, nullptr);
  for (auto& f : a.fast) f = f.detach();
  a.support_before = a.support_before.detach();
  a.support_after = a.support_after.detach();
  return a;
}

}  // namespace hc::trainer
