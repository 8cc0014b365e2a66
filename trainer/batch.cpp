#include "trainer/batch.h"

#include "base/parallel.h"
#include "trainer/distributed.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace hc::trainer {

using tasks::TargetKind;

std::vector<tasks::TaskData> generate(const tasks::TaskFamily& family, std::span<const int64_t> ids,
                                      std::span<const uint64_t> seeds, Draw draw) {
  std::vector<tasks::TaskData> out(ids.size());
  parallel_for(size_t{0}, ids.size(), [&](size_t i) {
    const tasks::Task& task = family.task_space().task(ids[i]);
    out[i] = draw == Draw::kHeldOut ? family.make_held_out_data(task, seeds[i])
                                    : family.make_task_data(task, seeds[i]);
  });
  return out;
}

namespace {

// One set (support or query) of every task, padded to the longest.
SetTensors pack_set(const tasks::TaskFamily& family, std::span<const tasks::TaskData> data,
                    bool query, bool sparse) {
  const auto set = [&](size_t t) -> const tasks::Dataset& {
    return query ? data[t].query : data[t].support;
  };
  const int64_t tasks = static_cast<int64_t>(data.size());
  const int64_t d = family.input_dim(), c = family.output_dim();
  int64_t n = 1;
  for (size_t t = 0; t < data.size(); ++t) n = std::max(n, set(t).rows);
  const TargetKind kind = family.target_kind();

  SetTensors s;
  s.y.kind = kind;
  s.y.labels = torch::zeros({tasks, n}, torch::kInt64);
  s.y.mask = torch::zeros({tasks, n});
  if (kind != TargetKind::kLabels) s.y.values = torch::zeros({tasks, n, c});
  s.episode = torch::full({tasks, n}, -1, torch::kInt64);
  s.step = torch::full({tasks, n}, -1, torch::kInt64);
  torch::Tensor dense;
  std::vector<int64_t> nnz(tasks, 0);
  if (!sparse)
    dense = torch::zeros({tasks, n, d});
  else
    parallel_for(int64_t{0}, tasks, [&](int64_t t) {
      for (float v : set(t).inputs) nnz[t] += v != 0.0f;
    });
  std::vector<int64_t> first(tasks + 1, 0);
  for (int64_t t = 0; t < tasks; ++t) first[t + 1] = first[t] + nnz[t];
  agents::Inputs& x = s.x;
  x.tasks = tasks;
  x.rows = n;
  x.dim = d;
  if (sparse) {
    x.index = torch::empty({first[tasks]}, torch::kInt64);
    x.row = torch::empty({first[tasks]}, torch::kInt64);
    x.offsets = torch::empty({tasks * n}, torch::kInt64);
  }
  parallel_for(int64_t{0}, tasks, [&](int64_t t) {
    const tasks::Dataset& ds = set(t);
    const int64_t rows = ds.rows;
    int64_t* labels = s.y.labels.data_ptr<int64_t>() + t * n;
    float* mask = s.y.mask.data_ptr<float>() + t * n;
    int64_t* episode = s.episode.data_ptr<int64_t>() + t * n;
    int64_t* step = s.step.data_ptr<int64_t>() + t * n;
    for (int64_t r = 0; r < rows; ++r) {
      if (!ds.labels.empty()) labels[r] = ds.labels[r];  // none for action vectors
      mask[r] = ds.mask[r];
      if (ds.episodes > 0) {
        episode[r] = ds.episode[r];
        step[r] = ds.step[r];
      }
    }
    if (kind != TargetKind::kLabels)
      std::memcpy(s.y.values.data_ptr<float>() + t * n * c, ds.targets.data(),
                  ds.targets.size() * sizeof(float));
    if (!sparse) {
      std::memcpy(dense.data_ptr<float>() + t * n * d, ds.inputs.data(),
                  ds.inputs.size() * sizeof(float));
      return;
    }
    int64_t* index = x.index.data_ptr<int64_t>();
    int64_t* row = x.row.data_ptr<int64_t>();
    int64_t* offsets = x.offsets.data_ptr<int64_t>() + t * n;
    int64_t k = first[t];
    for (int64_t r = 0; r < n; ++r) {
      offsets[r] = k;
      if (r >= rows) continue;
      const float* in = ds.inputs.data() + r * d;
      for (int64_t j = 0; j < d; ++j)
        if (in[j] != 0.0f) {
          index[k] = j;
          row[k] = t * n + r;
          ++k;
        }
    }
  });
  if (sparse)
    x.task_index = x.row.div(n, "floor") * d + x.index;
  else
    x.dense = dense;
  s.y.finish(c);
  return s;
}

}  // namespace

Batch pack(const tasks::TaskFamily& family, std::span<const tasks::TaskData> data,
           std::span<const int64_t> ids, std::span<const uint64_t> seeds, bool sparse) {
  Batch b;
  b.tasks = static_cast<int64_t>(data.size());
  b.task_ids.assign(ids.begin(), ids.end());
  b.seeds.assign(seeds.begin(), seeds.end());
  const int64_t latent = family.task_space().latent_dim();
  b.latents = torch::empty({b.tasks, latent});
  for (int64_t t = 0; t < b.tasks; ++t) {
    std::memcpy(b.latents[t].data_ptr<float>(), data[t].latent.data(), latent * sizeof(float));
    b.instances.push_back(data[t].task);
  }
  b.support = pack_set(family, data, false, sparse);
  b.query = pack_set(family, data, true, sparse);
  return b;
}

int effective_shards(int64_t n, int shards) {
  return static_cast<int>(std::clamp<int64_t>(shards, 1, std::max<int64_t>(n, 1)));
}

namespace {

// Shards [first, last) of `shards` over n tasks; `data` holds the tasks from shard `first` on.
std::vector<Batch> pack_range(const tasks::TaskFamily& family,
                              std::span<const tasks::TaskData> data, std::span<const int64_t> ids,
                              std::span<const uint64_t> seeds, int shards, int first, int last) {
  const bool sparse = family.binary_inputs();
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t lo = n * first / shards;
  std::vector<Batch> out;
  for (int s = first; s < last; ++s) {
    const int64_t a = n * s / shards, b = n * (s + 1) / shards;
    out.push_back(pack(family, data.subspan(a - lo, b - a), ids.subspan(a, b - a),
                       seeds.subspan(a, b - a), sparse));
  }
  return out;
}

}  // namespace

std::vector<Batch> make_batches(const tasks::TaskFamily& family, std::span<const int64_t> ids,
                                std::span<const uint64_t> seeds, int shards, int rank, int world,
                                Draw draw) {
  const auto n = static_cast<int64_t>(ids.size());
  shards = effective_shards(n, shards);
  const auto [first, last] = rank_shards(shards, world, rank);
  const int64_t lo = n * first / shards, hi = n * last / shards;
  const std::vector<tasks::TaskData> data =
      generate(family, ids.subspan(lo, hi - lo), seeds.subspan(lo, hi - lo), draw);
  return pack_range(family, data, ids, seeds, shards, first, last);
}

std::vector<Batch> pack_batches(const tasks::TaskFamily& family,
                                std::span<const tasks::TaskData> data, std::span<const int64_t> ids,
                                std::span<const uint64_t> seeds, int shards) {
  shards = effective_shards(static_cast<int64_t>(ids.size()), shards);
  return pack_range(family, data, ids, seeds, shards, 0, shards);
}

void training_tasks(const tasks::TaskFamily& family, uint64_t seed, int64_t step, int meta_batch,
                    std::vector<int64_t>& ids, std::vector<uint64_t>& seeds) {
  const auto& train = family.splits().train;
  Rng rng(derive_seed(seed, {0x7a1a, static_cast<uint64_t>(step)}));
  ids.resize(meta_batch);
  seeds.resize(meta_batch);
  for (int i = 0; i < meta_batch; ++i) {
    ids[i] = train[rng.uniform_int(train.size())];
    seeds[i] = rng.next();
  }
}

TrainingData::TrainingData(const tasks::TaskFamily& family, uint64_t seed, int meta_batch,
                           int shards, int rank, int world)
    : family_(family),
      seed_(seed),
      meta_batch_(meta_batch),
      shards_(shards),
      rank_(rank),
      world_(world) {}

TrainingData::~TrainingData() {
  if (ahead_.valid()) ahead_.wait();
}

std::vector<Batch> TrainingData::make(int64_t step) const {
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  training_tasks(family_, seed_, step, meta_batch_, ids, seeds);
  return make_batches(family_, ids, seeds, shards_, rank_, world_);
}

std::vector<Batch> TrainingData::take(int64_t step, int64_t end) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<Batch> batches;
  if (ahead_.valid() && ahead_step_ == step) {
    batches = ahead_.get();
  } else {
    if (ahead_.valid()) ahead_.wait();
    ahead_ = {};
    batches = make(step);
  }
  wait_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (step + 1 < end) {
    ahead_step_ = step + 1;
    ahead_ = std::async(std::launch::async, [this, next = step + 1] { return make(next); });
  }
  return batches;
}

}  // namespace hc::trainer
