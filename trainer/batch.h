// The data pipeline: tasks -> support/query datasets (generated in parallel with TBB) ->
// batched tensors. Sets of different lengths are padded to the longest set of the batch, with a
// mask; one-hot inputs are kept sparse, so padding costs nothing in the wide input layer.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <future>
#include <span>
#include <vector>

#include "agents/inputs.h"
#include "agents/loss.h"
#include "tasks/task_family.h"

namespace hc::trainer {

struct SetTensors {
  agents::Inputs x;
  agents::Targets y;
  torch::Tensor episode;  // [T, N] int64 demonstration index (-1: padding or i.i.d. samples)
  torch::Tensor step;     // [T, N] int64 step within the demonstration
};

struct Batch {
  int64_t tasks = 0;
  std::vector<int64_t> task_ids;
  std::vector<uint64_t> seeds;
  torch::Tensor latents;               // [T, latent_dim]
  std::vector<tasks::Task> instances;  // tasks with their drawn weights
  SetTensors support, query;
};

// Which data of a task: as trained on (training steps, and the test and valid sets of training
// combinations), or as the held-out evaluation sets draw it (TaskFamily::make_held_out_data).
enum class Draw { kTraining, kHeldOut };

// Generates the data of each (task, seed) in parallel. Deterministic whatever the thread count.
std::vector<tasks::TaskData> generate(const tasks::TaskFamily& family, std::span<const int64_t> ids,
                                      std::span<const uint64_t> seeds, Draw draw = Draw::kTraining);

// Packs task data into tensors; `sparse` keeps one-hot inputs as active-feature lists.
Batch pack(const tasks::TaskFamily& family, std::span<const tasks::TaskData> data,
           std::span<const int64_t> ids, std::span<const uint64_t> seeds, bool sparse);

// pack, split into `shards` consecutive, near-equal groups of tasks.
std::vector<Batch> pack_batches(const tasks::TaskFamily& family,
                                std::span<const tasks::TaskData> data, std::span<const int64_t> ids,
                                std::span<const uint64_t> seeds, int shards);

// generate + pack_batches. With `world` > 1, only the shards of `rank` (distributed.h:
// rank_shards of the shard count after clamping to the number of tasks), and only their data is
// generated: each batch is exactly the one the whole split would hold at its index.
std::vector<Batch> make_batches(const tasks::TaskFamily& family, std::span<const int64_t> ids,
                                std::span<const uint64_t> seeds, int shards, int rank = 0,
                                int world = 1, Draw draw = Draw::kTraining);
// The shard count pack_batches uses for n tasks.
int effective_shards(int64_t n, int shards);

// The tasks and data seeds of training step `step`: meta_batch tasks drawn uniformly with
// replacement from the training split, from a stream that depends only on (seed, step), so a
// resumed run sees exactly the data an uninterrupted one would.
void training_tasks(const tasks::TaskFamily& family, uint64_t seed, int64_t step, int meta_batch,
                    std::vector<int64_t>& ids, std::vector<uint64_t>& seeds);

// The batches of consecutive training steps, each step's made in the background while the
// learner works on the step before. A step's data depends only on (seed, step), so results are
// the same as making it when it is needed; the learner just seldom waits for it.
class TrainingData {
 public:
  // With `world` > 1, only the shards of `rank` (make_batches).
  TrainingData(const tasks::TaskFamily& family, uint64_t seed, int meta_batch, int shards,
               int rank = 0, int world = 1);
  ~TrainingData();
  TrainingData(const TrainingData&) = delete;
  TrainingData& operator=(const TrainingData&) = delete;

  // The batches of `step` (made now unless they were made ahead); then starts making those of
  // step + 1 when it is before `end`.
  std::vector<Batch> take(int64_t step, int64_t end);
  // Seconds take() has spent waiting for data.
  double wait_seconds() const { return wait_; }

 private:
  std::vector<Batch> make(int64_t step) const;

  const tasks::TaskFamily& family_;
  uint64_t seed_;
  int meta_batch_, shards_, rank_, world_;
  std::future<std::vector<Batch>> ahead_;
  int64_t ahead_step_ = -1;
  double wait_ = 0;
};

}  // namespace hc::trainer
