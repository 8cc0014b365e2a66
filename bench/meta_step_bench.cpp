// Whole outer (meta) steps: the same work as ../shared/bench/peer/meta_step.py (same model
// sizes, meta-batch 128, shots, 10 inner AdamW steps, second order). One fixed meta-batch is
// generated up front and reused; data generation is not timed, as in the peer. The theory rows
// are the reference theory experiment's step (configs/paper/theory_hnet_linear.yaml), with the
// fused and the generic inner loop; the peer has no such task (docs/performance.md compares it
// with the peer's nearest hnet_linear configuration).
//
//   build/bench/hc_meta_step_bench [--benchmark_filter=hyperteacher]
//
// Each row also reports the compute floor: every matrix multiplication the step performs is
// recorded with its shapes (LibTorch's profiler), then timed alone on fresh inputs; floor_ms is
// the sum of those times and floor_fraction = floor_ms / step time.
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>
#include <c10/core/CPUAllocator.h>
#include <torch/csrc/autograd/profiler_legacy.h>

#include <chrono>
#include <fstream>
#include <map>

#include "agents/bmm.h"
#include "agents/precision.h"
#include "trainer/batch.h"
#include "trainer/config.h"
#include "trainer/meta_learner.h"

namespace {

using namespace hc;
using namespace hc::trainer;

struct Setup {
  RunConfig config;
  agents::Policy policy;
  std::unique_ptr<Learner> learner;
  std::vector<Batch> shards;
};

std::unique_ptr<Setup> finish_setup(std::unique_ptr<Setup> s, int threads, bool sharded) {
  const tasks::TaskFamily& family = *s->config.family;
  s->policy =
      agents::make_policy(s->config.policy, {family.input_dim(), family.output_dim(), 0}, 1);
  s->learner = std::make_unique<Learner>(s->policy, s->config.learner, threads, sharded);
  // HC_TENSOR_CACHE=0: LibTorch's own allocator instead of the trainer's tensor cache, to
  // measure the cache against allocator settings (bench/allocator.sh).
  if (const char* c = std::getenv("HC_TENSOR_CACHE"); c && std::string(c) == "0")
    c10::SetCPUAllocator(c10::GetDefaultCPUAllocator(), /*priority=*/100);
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  training_tasks(family, 7, 0, s->config.learner.meta_batch, ids, seeds);
  s->shards = make_batches(family, ids, seeds, s->config.train.shards);
  return s;
}

// The theory experiment's meta-step as the reference runs it (configs/paper/theory_hnet_linear:
// meta-batch 64, 300 first-order inner Adam steps on the input embedding), with the fused inner
// loop ("hnet_linear") or the generic one ("hnet_linear_generic").
std::unique_ptr<Setup> make_theory_setup(bool fused, int threads) {
  auto s = std::make_unique<Setup>();
  s->config = load_run_config(
      std::string(HYPERCOMP_SOURCE_DIR) + "/configs/paper/theory_hnet_linear.yaml",
      {fmt::format("train.threads={}", threads), fmt::format("train.shards={}", threads),
       fmt::format("learner.fused_inner={}", fused)});
  return finish_setup(std::move(s), threads, true);
}

std::unique_ptr<Setup> make_setup(const std::string& task, const std::string& model, int threads,
                                  const std::string& parallel,
                                  const std::string& precision = "fp32") {
  if (task == "theory") return make_theory_setup(model == "hnet_linear", threads);
  YAML::Node root;
  if (task == "hyperteacher") {
    root["family"]["name"] = "hyperteacher";
    root["policy"]["hidden"] = 128;
    root["policy"]["num_hidden"] = 3;
    root["policy"]["templates"] = 16;
  } else {
    root["family"]["name"] = "compositional_goals";
    root["policy"]["hidden"] = 32;
    root["policy"]["num_hidden"] = 2;
    root["policy"]["templates"] = 8;
  }
  root["policy"]["name"] = model;
  const double lr = model == "hnet_linear" ? 0.3
                    : model == "anil"      ? (task == "grid" ? 0.01 : 0.03)
                                           : 0.01;
  root["learner"]["inner_lr"] = lr;
  root["learner"]["meta_batch"] = 128;
  root["learner"]["inner_steps"] =
      std::getenv("HC_INNER_STEPS") ? std::atoi(std::getenv("HC_INNER_STEPS")) : 10;
  if (std::getenv("HC_FIRST_ORDER")) root["learner"]["first_order"] = true;
  root["learner"]["precision"] =
      std::getenv("HC_PRECISION") ? std::getenv("HC_PRECISION") : precision;
  root["train"]["threads"] = threads;
  root["train"]["parallel"] = parallel;
  // One shard per thread, as the peer's single process uses its threads.
  root["train"]["shards"] = parallel == "shards" ? threads : 1;
  auto s = std::make_unique<Setup>();
  s->config = parse_run_config(root, "<benchmark>");
  return finish_setup(std::move(s), threads, parallel == "shards");
}

// Sum of the times of the step's matrix multiplications run alone at the same shapes.
double compute_floor_ms(Setup& s) {
  using namespace torch::autograd::profiler;
  enableProfilerLegacy(ProfilerConfig(ProfilerState::CPU, /*report_input_shapes=*/true));
  s.learner->step(s.shards);
  const thread_event_lists events = disableProfilerLegacy();
  std::map<std::pair<std::string, std::vector<std::vector<int64_t>>>, int> calls;
  if (std::getenv("HC_PROFILE")) {
    // Self time per operator (its time minus that of the operators it called).
    std::map<std::string, std::pair<double, int>> per_op;
    for (const auto& list : events) {
      std::vector<std::pair<const LegacyEvent*, double>> stack;  // event, children's time
      for (const auto& e : list) {
        if (e.kindStr() == "push") {
          stack.emplace_back(&e, 0.0);
        } else if (e.kindStr() == "pop" && !stack.empty()) {
          const auto [start, children] = stack.back();
          stack.pop_back();
          const double total = start->cpuElapsedUs(e) / 1000.0;
          if (!stack.empty()) stack.back().second += total;
          std::string key = start->name();
          if (std::getenv("HC_PROFILE_SHAPES"))
            for (const auto& sh : start->shapes()) key += " " + c10::str(sh);
          auto& slot = per_op[key];
          slot.first += total - children;
          slot.second += 1;
        }
      }
    }
    for (const auto& [name, v] : per_op)
      fmt::print(stderr, "PROFILE {:>10.1f} ms {:>6} x {}\n", v.first, v.second, name);
  }
  for (const auto& list : events)
    for (const auto& e : list) {
      const std::string name = e.name();
      if (e.kindStr() != "push") continue;
      if (name == "aten::mm" || name == "aten::bmm" || name == "aten::addmm" ||
          name == "aten::baddbmm" || name.rfind("hc::task_bmm_", 0) == 0)
        ++calls[{name, e.shapes()}];
    }
  at::set_num_threads(1);
  double total = 0.0;
  for (const auto& [key, count] : calls) {
    const auto& [name, shapes] = key;
    std::vector<torch::Tensor> in;
    for (const auto& sh : shapes)
      if (!sh.empty()) in.push_back(torch::randn(sh));
    const auto run = [&] {
      if (name == "aten::mm") return torch::mm(in[0], in[1]);
      if (name == "aten::bmm") return torch::bmm(in[0], in[1]);
      if (name == "aten::addmm") return torch::addmm(in[0], in[1], in[2]);
      if (name.rfind("hc::task_bmm_", 0) == 0) {
        const agents::PrecisionScope scope(name.find("bf16") != std::string::npos
                                               ? agents::Precision::kBf16
                                               : agents::Precision::kFp32);
        return agents::task_bmm(in[0], in[1], name[name.size() - 2] == 'T', name.back() == 'T');
      }
      return torch::baddbmm(in[0], in[1], in[2]);
    };
    if ((name == "aten::mm" || name == "aten::bmm" || name.rfind("hc::", 0) == 0) && in.size() < 2)
      continue;
    if ((name == "aten::addmm" || name == "aten::baddbmm") && in.size() < 3) continue;
    double best = 1e30;
    for (int rep = 0; rep < 3; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      torch::Tensor out = run();
      best = std::min(
          best,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    total += best * count;
    if (std::getenv("HC_FLOOR_DETAIL")) {
      std::string sh;
      for (const auto& x : shapes) sh += c10::str(x) + " ";
      fmt::print(stderr, "{:>8.2f} ms  {:>4} x {:<14} {}\n", best * count, count, name, sh);
    }
  }
  return total;
}

int64_t peak_rss_mb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stoll(line.substr(6)) / 1024;
  return -1;
}

void BM_MetaStep(benchmark::State& state, std::string task, std::string model, int threads,
                 std::string parallel, std::string precision) {
  auto s = make_setup(task, model, threads, parallel, precision);
  s->learner->step(s->shards);  // warm-up (allocator, first-touch)
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    s->learner->step(s->shards);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  int64_t rows = 0;
  for (const auto& b : s->shards) rows += b.support.x.rows * b.tasks;
  state.counters["support_rows_per_task"] =
      static_cast<double>(rows) / static_cast<double>(s->config.learner.meta_batch);
  if (threads == 1) {
    const double floor = compute_floor_ms(*s);
    state.counters["floor_ms"] = floor;
  }
  state.counters["peak_rss_mb"] = static_cast<double>(peak_rss_mb());
}

void register_rows() {
  // learner.precision bf16 rows where its products are large enough to use it (the
  // gridworld's are not: there it is float32 either way).
  for (int threads : {1, 2}) {
    for (const char* model : {"hnet_linear", "anil", "learned_init"})
      for (const char* precision : {"fp32", "bf16"})
        benchmark::RegisterBenchmark(fmt::format("hyperteacher/{}/threads:{}{}", model, threads,
                                                 std::string(precision) == "bf16" ? "/bf16" : "")
                                         .c_str(),
                                     BM_MetaStep, "hyperteacher", model, threads, "shards",
                                     precision)
            ->Iterations(3)
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(fmt::format("grid/hnet_linear/threads:{}", threads).c_str(),
                                 BM_MetaStep, "grid", "hnet_linear", threads, "shards", "fp32")
        ->Iterations(5)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  }
  for (int threads : {1, 2})
    for (const char* model : {"hnet_linear", "hnet_linear_generic"})
      benchmark::RegisterBenchmark(fmt::format("theory/{}/threads:{}", model, threads).c_str(),
                                   BM_MetaStep, "theory", model, threads, "shards", "fp32")
          ->Iterations(3)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
  // The alternative to sharding: one shard on LibTorch's own intra-op threads.
  for (const char* task : {"hyperteacher", "grid"})
    benchmark::RegisterBenchmark(fmt::format("{}/hnet_linear/intra_op_threads:2", task).c_str(),
                                 BM_MetaStep, task, "hnet_linear", 2, "intra_op", "fp32")
        ->Iterations(3)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
}

}  // namespace

int main(int argc, char** argv) {
  // --steps-only TASK MODEL THREADS N: run N steps of one row and nothing else (for profilers);
  // with HC_PROFILE set, then print the per-operator profile and the compute floor;
  // HC_PRECISION=bf16 for learner.precision bf16.
  if (argc == 6 && std::string(argv[1]) == "--steps-only") {
    auto s = make_setup(argv[2], argv[3], std::stoi(argv[4]), "shards");
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < std::stoi(argv[5]); ++i) s->learner->step(s->shards);
    fmt::print(
        "{:.1f} ms per step\n",
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
            std::stoi(argv[5]));
    if (std::getenv("HC_PROFILE")) fmt::print("compute floor {:.1f} ms\n", compute_floor_ms(*s));
    return 0;
  }
  register_rows();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
