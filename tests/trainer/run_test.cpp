// Training runs through the hypercomp executable: exact resume after kill -9, re-evaluation,
// and a short hyperteacher run whose OOD loss falls.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/io.h"
#include "tests/trainer/helpers.h"

extern char** environ;

namespace hc::trainer {
namespace {

namespace fs = std::filesystem;

pid_t spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  std::string bin = HYPERCOMP_BIN;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  EXPECT_EQ(posix_spawn(&pid, bin.c_str(), nullptr, nullptr, argv.data(), environ), 0);
  return pid;
}

int run(const std::vector<std::string>& args) {
  int status = 0;
  waitpid(spawn(args), &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class Runs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hc_runs_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write_config(const std::string& text) {
    const std::string p = (dir_ / "config.yaml").string();
    std::ofstream(p) << text;
    return p;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

const char* kTiny = R"(family: {name: compositional_goals}
policy: {name: hnet_linear, hidden: 16}
learner: {meta_batch: 8, inner_steps: 2}
train: {steps: 40, eval_every: 10, checkpoint_every: 4, threads: 1}
eval: {tasks: 8, identification_tasks: 8, closed_loop_tasks: 4}
)";

TEST_F(Runs, KilledAndResumedRunEndsExactlyLikeAnUninterruptedOne) {
  const std::string cfg = write_config(kTiny);
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("a"), "-q"}), 0);

  const pid_t pid = spawn({"train", cfg, "--run-dir", path("b"), "-q"});
  // Kill as soon as the first checkpoint exists: mid-run, between two checkpoints.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(path("b/checkpoint.pt")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_FALSE(fs::exists(path("b/summary.json"))) << "the run finished before it was killed";

  ASSERT_EQ(run({"train", "--resume", path("b"), "-q"}), 0);
  for (const char* f : {"metrics.jsonl", "eval.csv", "train.csv"})
    EXPECT_EQ(read_file(path(std::string("a/") + f)), read_file(path(std::string("b/") + f))) << f;
  const auto sa = nlohmann::json::parse(read_file(path("a/summary.json")));
  const auto sb = nlohmann::json::parse(read_file(path("b/summary.json")));
  EXPECT_EQ(sa["final"], sb["final"]);
  EXPECT_EQ(sa["best_step"], sb["best_step"]);
  EXPECT_EQ(count_lines(path("a/metrics.jsonl")), 45)
      << "5 evals (0, 10, 20, 30, 40) and one train record per step";

  // A finished run resumes to nothing; a run directory cannot be reused by accident.
  EXPECT_EQ(run({"train", "--resume", path("b"), "-q"}), 0);
  EXPECT_NE(run({"train", cfg, "--run-dir", path("b"), "-q"}), 0);

  // Re-evaluating the last checkpoint reproduces the final metrics.
  ASSERT_EQ(run({"eval", path("a")}), 0);
  const auto ev = nlohmann::json::parse(read_file(path("a/eval-latest.json")));
  EXPECT_EQ(ev["metrics"], sa["final"]);
  EXPECT_EQ(ev["step"], 40);
  ASSERT_EQ(run({"eval", path("a"), "--best"}), 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(path("a/eval-best.json")))["step"], sa["best_step"]);
}

// The thread count only decides who computes each of the fixed shards: the files are the same.
TEST_F(Runs, ThreadCountDoesNotChangeTheRun) {
  const std::string cfg = write_config(kTiny);
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("one"), "-q", "train.steps=12"}), 0);
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("two"), "-q", "train.steps=12", "train.threads=2"}),
            0);
  for (const char* f : {"metrics.jsonl", "eval.csv", "train.csv"})
    EXPECT_EQ(read_file(path(std::string("one/") + f)), read_file(path(std::string("two/") + f)))
        << f;
}

TEST_F(Runs, CorruptCheckpointIsRefusedOnResume) {
  const std::string cfg = write_config(kTiny);
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("a"), "-q", "train.steps=4"}), 0);
  fs::remove(path("a/summary.json"));
  std::string bytes = read_file(path("a/checkpoint.pt"));
  bytes[bytes.size() / 3] ^= 1;
  atomic_write(path("a/checkpoint.pt"), bytes);
  EXPECT_EQ(run({"train", "--resume", path("a"), "-q"}), 1);
}

TEST_F(Runs, ShortHyperteacherRunLowersTheOodLoss) {
  const std::string cfg =
      write_config(R"(family: {name: hyperteacher, support_shots: 64, query_shots: 64}
policy: {name: hnet_linear, hidden: 32, num_hidden: 3, templates: 8, normalize_embedding: false}
learner: {meta_batch: 16, inner_steps: 5, inner_optimizer: sgd, inner_lr: 1.0, outer_lr: 0.003}
train: {steps: 200, eval_every: 100, checkpoint_every: 200}
eval: {tasks: 32, closed_loop: false}
)");
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("h"), "-q"}), 0);
  std::ifstream in(path("h/metrics.jsonl"));
  std::vector<double> ood;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] == "eval") ood.push_back(j["ood/loss"].get<double>());
  }
  ASSERT_EQ(ood.size(), 3u);
  EXPECT_LT(ood[1], ood[0]) << "OOD loss " << ood[0] << " -> " << ood[1];
  EXPECT_LT(ood[2], ood[1]) << "OOD loss " << ood[1] << " -> " << ood[2];
  EXPECT_LT(ood[2], ood[0] - 0.05) << "OOD loss " << ood[0] << " -> " << ood[2];
}

// The continuous-action family trains through the same paths with every policy: the OOD loss
// (squared error of the predicted force against the expert's) falls within a few hundred steps.
class ContinuousRuns : public Runs, public ::testing::WithParamInterface<std::string> {};

TEST_P(ContinuousRuns, EveryPolicyLowersTheOodLossOnPointReach) {
  const std::string cfg = write_config(
      "family: {name: point_reach}\n"
      "policy: {name: " + GetParam() + ", hidden: 32, num_hidden: 2, templates: 8,"
      " normalize_embedding: false, generator_hidden: 16, generator_layers: 2}\n"
      "learner: {meta_batch: 16, inner_optimizer: sgd, inner_steps: 5, inner_grad_clip: 5.0,"
      " outer_lr: 0.003, inner_lr: " +
      std::string(GetParam().rfind("hnet", 0) == 0 ? "1.0" : "0.1") +
      "}\n"
      "train: {steps: 200, eval_every: 200, checkpoint_every: 200}\n"
      "eval: {tasks: 64, identification_tasks: 32, closed_loop_tasks: 8}\n");
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("p"), "-q"}), 0);
  std::ifstream in(path("p/metrics.jsonl"));
  std::vector<double> ood;
  std::vector<nlohmann::json> evals;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] == "eval") ood.push_back(j["ood/loss"].get<double>()), evals.push_back(j);
  }
  ASSERT_EQ(ood.size(), 2u);
  EXPECT_LT(ood[1], ood[0] * 0.8) << "OOD loss " << ood[0] << " -> " << ood[1];
  // Every kind of metric is there: R² of action vectors, tolerance accuracy, closed loop.
  for (const char* key : {"ood/r2", "ood/acc", "closed_ood/success", "closed_ood/expert_success"})
    EXPECT_TRUE(evals.back().contains(key)) << key;
}

INSTANTIATE_TEST_SUITE_P(AllPolicies, ContinuousRuns, ::testing::ValuesIn(testing::policy_names()),
                         [](const auto& info) { return info.param; });

// The Box2D families train through the same paths, with either action space: a short run of the
// modular policy lowers the OOD loss (squared error of the expert's actions, or cross-entropy of
// the discrete ones) and reports closed-loop success.
class PhysicsRuns : public Runs,
                    public ::testing::WithParamInterface<std::pair<std::string, std::string>> {};

TEST_P(PhysicsRuns, ModularPolicyLowersTheOodLoss) {
  const auto& [family, actions] = GetParam();
  const std::string section = "family: {name: " + family + ", actions: " + actions + "}\n";
  const std::string cfg =
      write_config(section +
                   "policy: {name: hnet_linear, hidden: 32, num_hidden: 2, templates: 8,"
                   " normalize_embedding: false}\n"
                   "learner: {meta_batch: 16, inner_optimizer: sgd, inner_steps: 5, inner_lr: 1.0,"
                   " inner_grad_clip: 5.0, outer_lr: 0.003}\n"
                   "train: {steps: 150, eval_every: 150, checkpoint_every: 150}\n"
                   "eval: {tasks: 32, identification_tasks: 32, closed_loop_tasks: 4}\n");
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("p"), "-q"}), 0);
  std::ifstream in(path("p/metrics.jsonl"));
  std::vector<nlohmann::json> evals;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] == "eval") evals.push_back(j);
  }
  ASSERT_EQ(evals.size(), 2u);
  const double before = evals[0]["ood/loss"], after = evals[1]["ood/loss"];
  EXPECT_LT(after, before * 0.8) << "OOD loss " << before << " -> " << after;
  EXPECT_TRUE(evals.back().contains("closed_ood/expert_success"));
  const auto summary = nlohmann::json::parse(read_file(path("p/summary.json")));
  EXPECT_GE(summary["data_wait_s"].get<double>(), 0.0);
}

INSTANTIATE_TEST_SUITE_P(
    Box2D, PhysicsRuns,
    ::testing::Values(std::pair<std::string, std::string>{"push", "continuous"},
                      std::pair<std::string, std::string>{"push", "discrete"},
                      std::pair<std::string, std::string>{"lander", "continuous"},
                      std::pair<std::string, std::string>{"lander", "discrete"}),
    [](const auto& info) { return info.param.first + "_" + info.param.second; });

}  // namespace
}  // namespace hc::trainer
