// The Box2D families (push, lander): environment steps per second on one core, a single Env and
// a VectorEnv of B = 1, 16, 128; the share of a step spent inside b2World::Step; expert
// demonstrations per second; and, on the quick training configs, how long the trainer waits for
// a meta-batch's data (make_batches: demonstrations + packing) against the learner's step.
//
//   build/bench/hc_physics_bench                              # everything
//   build/bench/hc_physics_bench --benchmark_filter=Step      # environment steps only
//
// An environment step holds the action for sub_steps Box2D steps (push: 2 x 50 ms, lander:
// 3 x 33 ms, both 0.1 s of simulated time); Gymnasium's LunarLander takes one 20 ms Box2D step
// per environment step, so the counter sim_s_per_s (simulated seconds per second of CPU time)
// compares like with like.
#include <benchmark/benchmark.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>

#include "envs/core/vector_env.h"
#include "envs/physics/physics.h"
#include "families/registry.h"
#include "trainer/batch.h"
#include "trainer/config.h"
#include "trainer/meta_learner.h"

namespace {

using namespace hc;
using namespace hc::envs;
using Clock = std::chrono::steady_clock;

const EnvFamily& family(const std::string& name) {
  static std::map<std::string, std::shared_ptr<tasks::TaskFamily>> cache;
  auto& f = cache[name];
  if (!f) f = families::make_family(name);
  return require_env_family(*f, "the benchmark");
}

double env_dt(const EnvFamily& f) {
  const YAML::Node c = f.config();
  return c["dt"].as<double>() * c["sub_steps"].as<double>();
}

// Random actions drawn up front (not timed); a table of a few thousand keeps them in cache.
std::vector<Action> action_table(const EnvFamily& f, size_t n) {
  std::vector<Action> actions(n);
  Rng rng(2);
  for (Action& a : actions) a = sample(f.action_spec(), rng);
  return actions;
}

// The share of `run`'s steps spent inside b2World::Step: physics and total time come from the
// same pass, so that other processes slowing the machine down affect both alike, and the clock's
// own cost is measured in the same place and taken out of both; the median of nine passes of
// `steps` steps keeps a pass that was preempted in the middle from deciding it.
template <class Run>
double box2d_share(int64_t steps, Run&& run) {
  std::vector<double> shares;
  for (int pass = 0; pass < 9; ++pass) {
    physics::StepClock clock;
    physics::step_clock = &clock;
    const auto t0 = Clock::now();
    run(steps);
    const double total = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    physics::step_clock = nullptr;
    shares.push_back(clock.physics_ns() / (total - clock.reads_ns()));
  }
  std::nth_element(shares.begin(), shares.begin() + 4, shares.end());
  return shares[4];
}

// Items are environment steps; rates are per second of CPU time (per core).
void report(benchmark::State& state, const EnvFamily& f, int64_t steps, double share) {
  state.SetItemsProcessed(steps);
  state.counters["box2d_share"] = share;
  state.counters["sim_s_per_s"] =
      benchmark::Counter(static_cast<double>(steps) * env_dt(f), benchmark::Counter::kIsRate);
}

// One environment stepped with random actions; a finished episode is reset with the next seed.
void BM_EnvStep(benchmark::State& state, std::string name) {
  const EnvFamily& f = family(name);
  auto env = f.make_env();
  const std::vector<Action> actions = action_table(f, 4096);
  const auto& ids = f.splits().train;
  uint64_t episode = 0;
  size_t next = 0;
  const auto run = [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      if (!env->started() || env->done()) {
        env->reset(episode, f.task_space().task(ids[episode % ids.size()]));
        ++episode;
      }
      env->step(actions[next]);
      next = (next + 1) % actions.size();
    }
  };
  for (auto _ : state) run(1);
  report(state, f, state.iterations(), box2d_share(5000, run));
}

// B environments stepped together on one thread (next-step autoreset).
void BM_VectorStep(benchmark::State& state, std::string name) {
  const int batch = static_cast<int>(state.range(0));
  tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  const EnvFamily& f = family(name);
  VectorEnv vec(f, batch, /*grain=*/256);
  std::vector<Task> tasks;
  std::vector<uint64_t> seeds;
  const auto& ids = f.splits().train;
  for (int i = 0; i < batch; ++i) {
    tasks.push_back(f.task_space().task(ids[i % ids.size()]));
    seeds.push_back(derive_seed(1, {static_cast<uint64_t>(i)}));
  }
  vec.reset(tasks, seeds);
  // Enough rounds that a small batch does not repeat a few actions (which would drive its agent
  // into one wall and keep it there).
  const int rounds = std::max(8, 4096 / batch);
  const std::vector<Action> actions = action_table(f, static_cast<size_t>(rounds) * batch);
  int round = 0;
  const auto run = [&](int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
      vec.step(std::span<const Action>(actions).subspan(static_cast<size_t>(round) * batch, batch));
      round = (round + 1) % rounds;
      benchmark::DoNotOptimize(vec.observations().data());
    }
  };
  for (auto _ : state) run(1);
  const int64_t timed_calls = std::max<int64_t>(1, 5000 / batch);
  report(state, f, state.iterations() * batch,
         box2d_share(timed_calls * batch, [&](int64_t n) { run(n / batch); }));
}

// Expert demonstrations: the support and query sets of random training tasks (one thread).
void BM_Demonstrations(benchmark::State& state, std::string name) {
  tbb::global_control one(tbb::global_control::max_allowed_parallelism, 1);
  const EnvFamily& f = family(name);
  const auto& ids = f.splits().train;
  uint64_t seed = 0;
  int64_t demos = 0, rows = 0;
  for (auto _ : state) {
    const TaskData d = f.make_task_data(f.task_space().task(ids[seed % ids.size()]), seed);
    ++seed;
    demos += d.support.episodes + d.query.episodes;
    rows += d.support.rows + d.query.rows;
    benchmark::DoNotOptimize(d.support.inputs.data());
  }
  state.SetItemsProcessed(demos);
  state.counters["rows_per_demo"] = static_cast<double>(rows) / static_cast<double>(demos);
}

// A quick config's training steps as the trainer runs them. Sequentially: make_batches (the
// meta-batch's demonstrations, generated in parallel, and packing) then the learner's step, each
// timed; wait_share = make_batches / (make_batches + learner). With TrainingData, as `hypercomp
// train` does: the next step's data is made while the learner works, and wait_share is the time
// take() blocks over the whole step.
void BM_TrainingStep(benchmark::State& state, std::string config, bool ahead) {
  using namespace hc::trainer;
  const RunConfig c =
      load_run_config(std::string(HYPERCOMP_SOURCE_DIR) + "/configs/quick/" + config + ".yaml");
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, c.threads());
  const tasks::TaskFamily& f = *c.family;
  agents::Policy policy = agents::make_policy(c.policy, {f.input_dim(), f.output_dim(), 0},
                                              derive_seed(c.train.seed, {0x1417}));
  Learner learner(policy, c.learner, c.threads(), c.train.parallel == Parallel::kShards);
  constexpr int kWarmUp = 3;  // allocator, first touch
  const int64_t end = kWarmUp + static_cast<int64_t>(state.max_iterations);
  TrainingData data(f, c.train.seed, c.learner.meta_batch, c.train.shards);
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  int64_t step = 0;
  double wait_s = 0, learn_s = 0, total_s = 0;
  const auto one_step = [&](bool timed) {
    const auto t0 = Clock::now();
    std::vector<Batch> batches;
    if (ahead) {
      batches = data.take(step, end);
    } else {
      training_tasks(f, c.train.seed, step, c.learner.meta_batch, ids, seeds);
      batches = make_batches(f, ids, seeds, c.train.shards);
    }
    const auto t1 = Clock::now();
    learner.step(batches);
    const auto t2 = Clock::now();
    ++step;
    if (!timed) return;
    wait_s += std::chrono::duration<double>(t1 - t0).count();
    learn_s += std::chrono::duration<double>(t2 - t1).count();
    total_s += std::chrono::duration<double>(t2 - t0).count();
  };
  for (int i = 0; i < kWarmUp; ++i) one_step(false);
  for (auto _ : state) one_step(true);
  const auto n = static_cast<double>(state.iterations());
  state.counters["data_ms"] = 1e3 * wait_s / n;
  state.counters["learner_ms"] = 1e3 * learn_s / n;
  state.counters["wait_share"] = wait_s / total_s;
}

void register_all() {
  for (const char* name : {"push", "lander"}) {
    benchmark::RegisterBenchmark(fmt::format("BM_EnvStep/{}", name).c_str(), BM_EnvStep, name)
        ->MinTime(1.0);
    benchmark::RegisterBenchmark(fmt::format("BM_VectorStep/{}", name).c_str(), BM_VectorStep, name)
        ->Arg(1)
        ->Arg(16)
        ->Arg(128)
        ->Arg(1024)
        ->ArgName("B")
        ->MinTime(1.0);
    benchmark::RegisterBenchmark(fmt::format("BM_Demonstrations/{}", name).c_str(),
                                 BM_Demonstrations, name)
        ->MinTime(1.0);
  }
  for (const char* config : {"push_hnet_linear", "push_anil", "lander_hnet_linear", "lander_anil"})
    for (const bool ahead : {false, true})
      benchmark::RegisterBenchmark(
          fmt::format("BM_TrainingStep/{}/{}", config, ahead ? "ahead" : "sequential").c_str(),
          BM_TrainingStep, config, ahead)
          ->Iterations(20)
          ->UseRealTime()
          ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
