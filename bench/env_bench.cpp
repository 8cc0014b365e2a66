// Environment throughput: compositional_goals step + full observation encoding for B
// environments into one preallocated buffer, against the memory-write bound (a plain memcpy of
// the same observation bytes), and expert demonstration rate.
//
//   build/bench/hc_env_bench --benchmark_filter=Goals
// Compare with ../shared/bench/peer/grid_env.py --batch B (same work in NumPy).
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <cstring>

#include "families/registry.h"
#include "envs/core/vector_env.h"

namespace {

using namespace hc;
using namespace hc::envs;

const EnvFamily& goals() {
  static const auto family = hc::families::make_family("compositional_goals");
  return require_env_family(*family, "the benchmark");
}

// Args: batch size B, threads.
void BM_GoalsStep(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, state.range(1));
  const EnvFamily& family = goals();
  VectorEnv vec(family, batch, /*grain=*/256);
  std::vector<Task> tasks;
  std::vector<uint64_t> seeds;
  const auto& ids = family.splits().train;
  for (int i = 0; i < batch; ++i) {
    tasks.push_back(family.task_space().task(ids[i % ids.size()]));
    seeds.push_back(derive_seed(1, {static_cast<uint64_t>(i)}));
  }
  vec.reset(tasks, seeds);
  // Random actions drawn up front (not timed), as in the peer. Eight rounds keep the table at
  // B = 1024 to 320 KB, so that the benchmark measures stepping, not streaming actions from memory.
  constexpr int kRounds = 8;
  std::vector<Action> actions(static_cast<size_t>(kRounds) * batch);
  Rng rng(2);
  for (Action& a : actions) a = sample(family.action_spec(), rng);
  int round = 0;
  for (auto _ : state) {
    vec.step(std::span<const Action>(actions).subspan(static_cast<size_t>(round) * batch, batch));
    round = (round + 1) % kRounds;
    benchmark::DoNotOptimize(vec.observations().data());
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * vec.observation_size() * sizeof(float));
}
BENCHMARK(BM_GoalsStep)
    ->ArgsProduct({{1, 16, 128, 1024}, {1, 2}})
    ->ArgNames({"B", "threads"})
    ->UseRealTime();

// The memory-write bound: copying B observations' bytes from per-environment sources into one
// buffer (what an ideal step does at the least), on one thread.
void BM_ObservationMemcpy(benchmark::State& state) {
  const int batch = static_cast<int>(state.range(0));
  const int64_t n = goals().input_dim();
  std::vector<std::vector<float>> sources(batch, std::vector<float>(n, 0.0f));
  std::vector<float> out(static_cast<size_t>(batch) * n);
  for (auto _ : state) {
    for (int i = 0; i < batch; ++i)
      std::memcpy(out.data() + i * n, sources[i].data(), n * sizeof(float));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetBytesProcessed(state.iterations() * batch * n * sizeof(float));
}
BENCHMARK(BM_ObservationMemcpy)->Arg(1)->Arg(16)->Arg(128)->Arg(1024)->ArgName("B");

// Expert demonstrations: support + query sets of random training tasks (one thread).
void BM_GoalsDemonstrations(benchmark::State& state) {
  const EnvFamily& family = goals();
  const auto& ids = family.splits().train;
  uint64_t seed = 0;
  int64_t demos = 0, rows = 0;
  for (auto _ : state) {
    const TaskData d = family.make_task_data(family.task_space().task(ids[seed % ids.size()]), seed);
    ++seed;
    demos += d.support.episodes + d.query.episodes;
    rows += d.support.rows + d.query.rows;
    benchmark::DoNotOptimize(d.support.inputs.data());
  }
  state.SetItemsProcessed(demos);
  state.counters["rows_per_demo"] = static_cast<double>(rows) / static_cast<double>(demos);
}
BENCHMARK(BM_GoalsDemonstrations);

}  // namespace

BENCHMARK_MAIN();
