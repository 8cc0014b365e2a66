#include "trainer/memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

#include "agents/tensor_cache.h"
#include "trainer/evaluate.h"
#include "trainer/meta_learner.h"

namespace hc::trainer {
namespace {

double gib(double bytes) { return bytes / (1024.0 * 1024.0 * 1024.0); }

double tensor_bytes(const torch::Tensor& t) {
  return t.defined() ? static_cast<double>(t.numel() * t.element_size()) : 0.0;
}

double set_bytes(const SetTensors& s) {
  double b = tensor_bytes(s.x.dense) + tensor_bytes(s.x.index) + tensor_bytes(s.x.offsets) +
             tensor_bytes(s.x.row) + tensor_bytes(s.x.task_index);
  for (const torch::Tensor* t : {&s.y.labels, &s.y.values, &s.y.mask, &s.y.weight, &s.y.entropy,
                                 &s.y.one_hot, &s.episode, &s.step})
    b += tensor_bytes(*t);
  return b;
}

double batch_bytes(const Batch& b) {
  return set_bytes(b.support) + set_bytes(b.query) + tensor_bytes(b.latents);
}

}  // namespace

double available_memory() {
  double available = INFINITY;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string key; meminfo >> key;) {
    double kb = 0;
    meminfo >> kb;
    if (key == "MemAvailable:") available = kb * 1024.0;
    meminfo.ignore(256, '\n');
  }
  // A container's limit (cgroup v2) can be lower than what the machine has free.
  std::ifstream max_in("/sys/fs/cgroup/memory.max"), current_in("/sys/fs/cgroup/memory.current");
  std::string max;
  double current = 0;
  if (max_in >> max && max != "max" && current_in >> current)
    available = std::min(available, std::stod(max) - current);
  return available;
}

namespace {

// Peaks of meta-step shards at one width, per task.
struct Measured {
  double one_task = 0;       // a shard of one task
  double step_per_task = 0;  // a shard of `tasks` tasks, per task
  double data_per_task = 0;
};

// One task first, so that the probe itself stays well within the memory there is, then up to
// 32 tasks: enough for the padding to the longest demonstration to approach that of a full shard
// (sets are padded to the longest in the batch), few enough to cost a fraction of a step. Its
// peak per task, fixed costs included, bounds a full shard's.
Measured measure(const RunConfig& c, int per_shard, double available) {
  constexpr int kProbe = 32;
  Learner learner(c.make_policy(), c.learner, c.threads(), c.train.parallel == Parallel::kShards);
  const auto probe_peak = [&](int n) {
    std::vector<int64_t> ids;
    std::vector<uint64_t> seeds;
    training_tasks(*c.family, c.train.seed, /*step=*/0, n, ids, seeds);
    const std::vector<Batch> probe = make_batches(*c.family, ids, seeds, 1);
    StepStats stats;
    const double bytes = static_cast<double>(
        agents::measure_tensor_peak([&] { learner.meta_gradient(probe, stats); }));
    return std::pair(bytes, batch_bytes(probe[0]));
  };
  auto [peak, data] = probe_peak(1);
  Measured m{peak, peak, data};
  const int want = std::min(per_shard, kProbe);
  if (want > 1 && peak * want < available / 4) {
    std::tie(peak, data) = probe_peak(want);
    m.step_per_task = peak / want;
    m.data_per_task = data / want;
  }
  return m;
}

// The value at `x` of the quadratic through (w, y1), (2w, y2), (4w, y4). Every tensor of a step
// has a size at most quadratic in the width (weights of hidden layers, generated or adapted per
// task; activations), so a peak grows at most with the square of the width, and it never shrinks
// as the width grows: the result is kept within those bounds.
double extrapolate(double x, double w, double y1, double y2, double y4) {
  const double fit = y1 * (x - 2 * w) * (x - 4 * w) / (3 * w * w) -
                     y2 * (x - w) * (x - 4 * w) / (2 * w * w) +
                     y4 * (x - w) * (x - 2 * w) / (6 * w * w);
  const double r = x / (4 * w);
  return std::clamp(fit, y4, y4 * r * r);
}

}  // namespace

MemoryEstimate estimate_memory(const RunConfig& c) {
  const tasks::TaskFamily& family = *c.family;
  const int shards = std::min(c.train.shards, c.learner.meta_batch);
  const int per_shard = (c.learner.meta_batch + shards - 1) / shards;
  const double available = available_memory();
  const int at_once = c.train.parallel == Parallel::kShards ? std::min(c.threads(), shards) : 1;
  const double eval_tasks =
      static_cast<double>(make_eval_sets(family, c.eval, c.train.seed).size()) * c.eval.tasks;
  const auto compose = [&](double step_per_task, double data_per_task) {
    MemoryEstimate e;
    e.step_per_task = step_per_task;
    e.data_per_task = data_per_task;
    // The allocator keeps freed blocks and every thread its own pools: the process's peak is
    // about 1.5 times the live tensor bytes (measured on the quick goals config at meta-batches
    // 256 to 8192).
    constexpr double kAllocatorOverhead = 1.5;
    e.step = kAllocatorOverhead * at_once * step_per_task * per_shard;
    e.data = kAllocatorOverhead * data_per_task * c.learner.meta_batch;
    e.eval = kAllocatorOverhead * data_per_task * eval_tasks;
    e.needed = e.step + e.data + e.eval;
    e.available = available;
    return e;
  };
  if (c.policy.hidden <= kMeasuredWidth) {
    const Measured m = measure(c, per_shard, available);
    return compose(m.step_per_task, m.data_per_task);
  }
  const auto at_width = [&](int hidden) {
    RunConfig copy = c;
    copy.policy.hidden = hidden;
    return measure(copy, per_shard, available);
  };
  // Copies of the configuration at a sixteenth, an eighth and a quarter of kMeasuredWidth: a
  // second or two. The quadratic through them is what decides fast: on the quick goals config it
  // came within +3% (hnet_linear) to -43% (anil, whose peak moves to another phase of the step
  // as the width grows) of the measured peak per task at hidden 512 to 2048 (docs/training.md),
  // so a configuration it puts at over twice the memory there is, is refused without more.
  const int w = kMeasuredWidth / 16;
  const Measured n1 = at_width(w), n2 = at_width(2 * w), n4 = at_width(4 * w);
  const auto quadratic = [&](double Measured::*field) {
    return extrapolate(c.policy.hidden, w, n1.*field, n2.*field, n4.*field);
  };
  MemoryEstimate e = compose(quadratic(&Measured::step_per_task), n4.data_per_task);
  e.extrapolated = fmt::format("extrapolated from policy.hidden={}, {} and {}", w, 2 * w, 4 * w);
  if (e.needed > 2 * available) return e;
  // Otherwise measured: at the run's own width if one task there surely takes a small part of
  // the memory (a peak grows at most with the square of the width), else at the widest width
  // that surely does, scaled by the square of the ratio (an upper bound).
  const double square = std::pow(static_cast<double>(c.policy.hidden) / (4 * w), 2);
  if (n4.one_task * square <= available / 4) {
    const Measured m = measure(c, per_shard, available);
    return compose(m.step_per_task, m.data_per_task);
  }
  const int widest =
      std::clamp(static_cast<int>(4 * w * std::sqrt(available / 4 / std::max(n4.one_task, 1.0))),
                 4 * w, c.policy.hidden);
  const Measured m = at_width(widest);
  const double ratio = static_cast<double>(c.policy.hidden) / widest;
  e = compose(m.step_per_task * ratio * ratio, m.data_per_task);
  e.extrapolated = fmt::format("at most {} times that at policy.hidden={}", ratio * ratio, widest);
  return e;
}

std::string MemoryEstimate::summary() const {
  return fmt::format(
      "estimated peak memory {:.2f} GiB ({:.1f} MiB per task of a meta-step shard{}, {:.1f} MiB "
      "of data per task); {:.1f} GiB available",
      gib(needed), step_per_task / (1 << 20), extrapolated.empty() ? "" : ", " + extrapolated,
      data_per_task / (1 << 20), gib(available));
}

std::string check_memory(const RunConfig& c, const MemoryEstimate& e) {
  if (e.needed > e.available) {
    // The keys of the largest part.
    std::string keys;
    if (e.eval >= e.step && e.eval >= e.data)
      keys = fmt::format(
          "the evaluation sets hold {:.1f} GiB of task data: lower eval.tasks ({} tasks in each "
          "set)",
          gib(e.eval), c.eval.tasks);
    else if (e.data >= e.step)
      keys = fmt::format(
          "a meta-batch's task data takes {:.1f} GiB: lower learner.meta_batch ({}) or the data "
          "per task (the family's support and query sizes)",
          gib(e.data), c.learner.meta_batch);
    else
      keys = fmt::format(
          "the meta-step takes {:.1f} GiB: lower learner.meta_batch ({}), learner.inner_steps "
          "({}) or policy.hidden ({}); or run fewer shards at once (train.threads {})",
          gib(e.step), c.learner.meta_batch, c.learner.inner_steps, c.policy.hidden, c.threads());
    throw ConfigError(
        fmt::format("{}: this configuration needs more memory than is available ({}); {}", c.file,
                    e.summary(), keys));
  }
  if (e.needed > 0.7 * e.available)
    return fmt::format("warning: {}: the run may run short of memory: {}", c.file, e.summary());
  return "";
}

}  // namespace hc::trainer
