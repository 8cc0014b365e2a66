#include "trainer/memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>

#include "agents/tensor_cache.h"
#include "trainer/evaluate.h"

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

MemoryEstimate estimate_memory(const RunConfig& c, Learner& learner) {
  const tasks::TaskFamily& family = *c.family;
  const int shards = std::min(c.train.shards, c.learner.meta_batch);
  const int per_shard = (c.learner.meta_batch + shards - 1) / shards;
  // A probe shard of up to kProbe tasks: enough for the padding to the longest demonstration
  // to approach that of a full shard (sets are padded to the longest in the batch), small enough
  // to cost a fraction of a step. Its peak per task, fixed costs included, bounds a full shard's.
  constexpr int kProbe = 32;
  const auto probe_peak = [&](int n) {
    std::vector<int64_t> ids;
    std::vector<uint64_t> seeds;
    training_tasks(family, c.train.seed, /*step=*/0, n, ids, seeds);
    const std::vector<Batch> probe = make_batches(family, ids, seeds, 1);
    StepStats stats;
    const double bytes = static_cast<double>(
        agents::measure_tensor_peak([&] { learner.meta_gradient(probe, stats); }));
    return std::pair(bytes, batch_bytes(probe[0]));
  };
  // One task first, so that the probe itself stays well within the memory there is.
  const double available = available_memory();
  auto [peak, data] = probe_peak(1);
  int n = 1;
  const int want = std::min(per_shard, kProbe);
  if (want > 1 && peak * want < available / 4) {
    n = want;
    std::tie(peak, data) = probe_peak(n);
  }
  MemoryEstimate e;
  e.step_per_task = peak / n;
  e.data_per_task = data / n;
  const int at_once = c.train.parallel == Parallel::kShards ? std::min(c.threads(), shards) : 1;
  const double eval_tasks =
      static_cast<double>(make_eval_sets(family, c.eval, c.train.seed).size()) * c.eval.tasks;
  // The allocator keeps freed blocks and every thread its own pools: the process's peak is about
  // 1.5 times the live tensor bytes (measured on the quick goals config at meta-batches 256 to
  // 8192).
  constexpr double kAllocatorOverhead = 1.5;
  e.needed = kAllocatorOverhead * (at_once * e.step_per_task * per_shard +
                                   e.data_per_task * (c.learner.meta_batch + eval_tasks));
  e.available = available;
  return e;
}

std::string MemoryEstimate::summary() const {
  return fmt::format(
      "estimated peak memory {:.2f} GiB ({:.1f} MiB per task of a meta-step shard, {:.1f} MiB of "
      "data per task); {:.1f} GiB available",
      gib(needed), step_per_task / (1 << 20), data_per_task / (1 << 20), gib(available));
}

std::string check_memory(const RunConfig& c, const MemoryEstimate& e) {
  const std::string keys = fmt::format(
      "lower learner.meta_batch ({}), learner.inner_steps ({}), the data per task, or "
      "policy.hidden ({}); or run fewer shards at once (train.threads {})",
      c.learner.meta_batch, c.learner.inner_steps, c.policy.hidden, c.threads());
  if (e.needed > e.available)
    throw ConfigError(
        fmt::format("{}: this configuration needs more memory than is available ({}); {}", c.file,
                    e.summary(), keys));
  if (e.needed > 0.7 * e.available)
    return fmt::format("warning: {}: the run may run short of memory: {}", c.file, e.summary());
  return "";
}

}  // namespace hc::trainer
