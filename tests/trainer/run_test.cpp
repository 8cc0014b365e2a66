// Training runs through the hypercomp executable: exact resume after kill -9, re-evaluation,
// and the physics families' discrete action spaces (every registered family is trained with
// every policy by coverage_test.cpp).
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "base/io.h"
#include "tests/trainer/helpers.h"
#include "tests/trainer/process.h"

namespace hc::trainer {
namespace {

namespace fs = std::filesystem;

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
  // The best state is evaluated beside it, and reproduces the summary's record of it.
  const auto best = nlohmann::json::parse(read_file(path("a/eval-best.json")));
  EXPECT_EQ(best["step"], sa["best_step"]);
  EXPECT_EQ(best["metrics"], sa["best"]);
  fs::remove(path("a/eval-best.json"));
  ASSERT_EQ(run({"eval", path("a"), "--best"}), 0);
  EXPECT_EQ(nlohmann::json::parse(read_file(path("a/eval-best.json")))["metrics"], sa["best"]);
  EXPECT_EQ(sb["best"], sa["best"]);
}

// The thread count only decides who computes each of the fixed shards: the files are the same.
TEST_F(Runs, ThreadCountDoesNotChangeTheRun) {
  const std::string cfg = write_config(kTiny);
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("one"), "-q", "train.steps=12"}), 0);
  ASSERT_EQ(
      run({"train", cfg, "--run-dir", path("two"), "-q", "train.steps=12", "train.threads=2"}), 0);
  for (const char* f : {"metrics.jsonl", "eval.csv", "train.csv"})
    EXPECT_EQ(read_file(path(std::string("one/") + f)), read_file(path(std::string("two/") + f)))
        << f;
}

void expect_same_outputs(const std::string& a, const std::string& b) {
  for (const char* f : {"metrics.jsonl", "eval.csv", "train.csv"})
    EXPECT_EQ(read_file(a + "/" + f), read_file(b + "/" + f)) << f << " of " << b;
  const auto sa = read_json(a + "/summary.json"), sb = read_json(b + "/summary.json");
  EXPECT_EQ(sa["final"], sb["final"]) << b;
  EXPECT_EQ(sa["best_step"], sb["best_step"]) << b;
}

// Kill -9 at random moments -- while computing, halfway through a metrics record, between
// writing a checkpoint's bytes and renaming them into place -- then resume, again and again:
// the finished run's files are those of a run never interrupted. HC_KILL_TRIALS sets the number
// of runs (each killed several times); the suite runs a few, more are run by hand.
TEST_F(Runs, RandomKillsAnywhereEndExactlyLikeAnUninterruptedRun) {
  const std::string cfg = write_config(kTiny);
  const std::vector<std::string> options = {"-q", "--log-every", "3"};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::string> first = {"train", cfg, "--run-dir", path("ref")};
  first.insert(first.end(), options.begin(), options.end());
  ASSERT_EQ(run(first), 0);
  const auto duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  const char* env_trials = std::getenv("HC_KILL_TRIALS");
  const int trials = env_trials ? std::atoi(env_trials) : 3;
  std::mt19937_64 rng(std::random_device{}());
  int kills = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const std::string dir = path("trial" + std::to_string(trial));
    bool started = false, finished = false;
    for (int attempt = 0; attempt < 8 && !finished; ++attempt) {
      std::vector<std::string> args =
          started
              ? std::vector<std::string>{"train", "--resume", dir, "-q"}
              : std::vector<std::string>{"train", cfg, "--run-dir", dir, "-q", "--log-every", "3"};
      std::vector<std::string> env;
      const int kind = static_cast<int>(rng() % 3);
      if (attempt < 6 && kind == 0)  // halfway through the k-th metrics record
        env.push_back("HC_CRASH_POINT=metrics_append:" + std::to_string(1 + rng() % 40));
      if (attempt < 6 && kind == 1)  // a checkpoint (or config, best.pt) written but not renamed
        env.push_back("HC_CRASH_POINT=atomic_write:" + std::to_string(1 + rng() % 12));
      const pid_t pid = spawn(args, env, path("trial.log"));
      if (attempt < 6 && kind == 2) {  // an arbitrary moment
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % (duration_ms + 1)));
        kill(pid, SIGKILL);
      }
      const int status = finish(pid);
      finished = status == 0;
      kills += status == -1;
      ASSERT_TRUE(status == 0 || status == -1) << read_file(path("trial.log"));
      started = started || fs::exists(dir + "/config.yaml");
    }
    ASSERT_TRUE(finished) << "trial " << trial;
    expect_same_outputs(path("ref"), dir);
  }
  RecordProperty("kills", kills);
  EXPECT_GT(kills, 0);
}

// Resume checks the metrics files against what the checkpoint recorded: it repairs what can be
// repaired (records written after the checkpoint, a torn last line, damaged CSVs, a damaged
// summary of a finished run) and refuses, naming the file, when records were lost or changed.
TEST_F(Runs, ResumeRepairsMetricsFilesOrRefusesNamingThem) {
  const std::string cfg = write_config(kTiny);
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("a"), "-q"}), 0);
  // A run killed halfway through a record written after its fourth checkpoint.
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("b"), "-q"}, {"HC_CRASH_POINT=metrics_append:25"}),
            -1);
  ASSERT_FALSE(fs::exists(path("b/summary.json")));
  const auto variant = [&](const std::string& name) {
    fs::copy(path("b"), path(name), fs::copy_options::recursive);
    return path(name);
  };
  const auto resume = [&](const std::string& dir, std::string* out) {
    const int status = run({"train", "--resume", dir, "-q"}, {}, dir + ".log");
    *out = read_file(dir + ".log");
    return status;
  };
  std::string out;

  // Repairable: a torn line, an emptied CSV and a CSV without its header.
  const std::string torn = variant("torn");
  {
    std::ofstream(torn + "/metrics.jsonl", std::ios::app) << "{\"kind\": \"tra";
    std::ofstream(torn + "/train.csv", std::ios::trunc);
    const std::string eval = read_file(torn + "/eval.csv");
    atomic_write(torn + "/eval.csv", eval.substr(eval.find('\n') + 1));
  }
  ASSERT_EQ(resume(torn, &out), 0) << out;
  EXPECT_NE(out.find("repaired metrics.jsonl"), std::string::npos) << out;
  EXPECT_NE(out.find("repaired train.csv: rebuilt"), std::string::npos) << out;
  EXPECT_NE(out.find("repaired eval.csv: rebuilt"), std::string::npos) << out;
  expect_same_outputs(path("a"), torn);

  // Not repairable: records lost, or changed.
  const std::string lost = variant("lost");
  const std::string jsonl = read_file(lost + "/metrics.jsonl");
  atomic_write(lost + "/metrics.jsonl", jsonl.substr(0, jsonl.find('\n') + 1));
  EXPECT_EQ(resume(lost, &out), 1);
  EXPECT_NE(out.find(lost + "/metrics.jsonl' holds 1 complete records"), std::string::npos) << out;
  const std::string changed = variant("changed");
  std::string edited = jsonl;
  edited[edited.find("\"step\":0")] = ' ';
  atomic_write(changed + "/metrics.jsonl", edited);
  EXPECT_EQ(resume(changed, &out), 1);
  EXPECT_NE(out.find("metrics.jsonl' differs from what the checkpoint recorded"), std::string::npos)
      << out;

  // A finished run with a damaged summary is finished again, to the same result.
  fs::copy(path("a"), path("finished"), fs::copy_options::recursive);
  atomic_write(path("finished/summary.json"), "{\"final\": {\"test/");
  ASSERT_EQ(resume(path("finished"), &out), 0) << out;
  EXPECT_NE(out.find("summary.json' is not valid JSON"), std::string::npos) << out;
  expect_same_outputs(path("a"), path("finished"));
}

// A run directory in use is locked: a second writer is refused at once, and the lock goes
// with the process however it ends.
TEST_F(Runs, SecondWriterOfARunDirectoryIsRefused) {
  const std::string cfg = write_config(kTiny);
  const pid_t first = spawn({"train", cfg, "--run-dir", path("r"), "-q", "train.steps=100000"});
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!fs::exists(path("r/config.yaml")) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(run({"train", cfg, "--run-dir", path("r"), "-q"}, {}, path("second.log")), 1);
  EXPECT_NE(read_file(path("second.log"))
                .find("is in use by another process (pid " + std::to_string(first) + ")"),
            std::string::npos)
      << read_file(path("second.log"));
  EXPECT_EQ(run({"train", "--resume", path("r"), "-q"}, {}, path("third.log")), 1);
  EXPECT_NE(read_file(path("third.log")).find("in use"), std::string::npos);
  ASSERT_EQ(kill(first, SIGKILL), 0);
  finish(first);
  // Released by the kernel: a resume may now take the directory (and is stopped at once here).
  const pid_t again = spawn({"train", "--resume", path("r"), "-q"}, {}, path("fourth.log"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  kill(again, SIGKILL);
  finish(again);
  EXPECT_EQ(read_file(path("fourth.log")).find("in use"), std::string::npos)
      << read_file(path("fourth.log"));
  // Options that change the outputs live in the config: a resume cannot change them.
  EXPECT_EQ(run({"train", "--resume", path("r"), "-q", "--log-every", "5"}), 2);
}

// A configuration far beyond the machine's memory is refused before anything is written, in a
// second, with the keys that drive the size; it does not crash after minutes of work.
TEST_F(Runs, ConfigurationTooLargeForTheMachineIsRefusedAtOnce) {
  const std::string cfg = write_config(kTiny);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(run({"train", cfg, "--run-dir", path("big"), "-q", "learner.meta_batch=65536",
                 "policy.hidden=1024"},
                {}, path("big.log")),
            2);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(60));
  const std::string out = read_file(path("big.log"));
  EXPECT_NE(out.find("needs more memory than is available"), std::string::npos) << out;
  EXPECT_NE(out.find("learner.meta_batch (65536)"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(path("big")));
}

// When memory runs out anyway (here: an address-space limit the estimate cannot see), the
// error is one line naming the keys, not a backtrace.
TEST_F(Runs, AllocationFailureIsOneLineNamingTheKeys) {
#ifdef __SANITIZE_ADDRESS__
  // AddressSanitizer reserves terabytes of address space for its shadow memory, so no process of
  // this build starts under an address-space limit; the regular build runs this check.
  GTEST_SKIP() << "an address-space limit cannot be combined with AddressSanitizer";
#endif
  const std::string cfg = write_config(kTiny);
  const std::string cmd = fmt::format(
      "ulimit -v 3000000; exec {} train {} --run-dir {} -q train.steps=2 policy.name=learned_init "
      "policy.hidden=1024 learner.meta_batch=512 > {} 2>&1",
      HYPERCOMP_BIN, cfg, path("oom"), path("oom.log"));
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_NE(WEXITSTATUS(status), 0);
  const std::string out = read_file(path("oom.log"));
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_TRUE(out.find("error: out of memory while training") == 0 ||
              out.find("needs more memory than is available") != std::string::npos)
      << out;
  EXPECT_NE(out.find("learner.meta_batch"), std::string::npos) << out;
}

// The lock file is the run's own plain file: a symbolic link planted as .lock is refused, not
// followed (the lock writes its holder's pid into it).
TEST_F(Runs, LockFileThatIsALinkIsRefusedNeverFollowed) {
  const std::string cfg = write_config(kTiny);
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("a"), "-q", "train.steps=4"}), 0);
  atomic_write(path("users-file"), "keep me\n");
  fs::remove(path("a/.lock"));
  fs::create_symlink(path("users-file"), path("a/.lock"));
  EXPECT_EQ(run({"train", "--resume", path("a"), "-q"}, {}, path("a.log")), 1);
  EXPECT_NE(read_file(path("a.log")).find("lock file '" + path("a/.lock") + "' is a symbolic link"),
            std::string::npos)
      << read_file(path("a.log"));
  EXPECT_EQ(read_file(path("users-file")), "keep me\n");
}

// A run killed in its first seconds, before it wrote its configuration, trained nothing; a
// resume says how to start it again rather than only that there is no run.
TEST_F(Runs, ResumeOfARunStoppedBeforeItsConfigurationSaysHowToStartItAgain) {
  fs::create_directories(path("early"));
  atomic_write(path("early/.lock"), "123\n");  // what such a run leaves, at most
  EXPECT_EQ(run({"train", "--resume", path("early"), "-q"}, {}, path("early.log")), 1);
  EXPECT_NE(read_file(path("early.log"))
                .find("start it again with its original command (hypercomp train CONFIG "
                      "[key=value ...] --run-dir " +
                      path("early") + ")"),
            std::string::npos)
      << read_file(path("early.log"));
  EXPECT_EQ(run({"train", "--resume", path("never"), "-q"}, {}, path("never.log")), 1);
  EXPECT_NE(read_file(path("never.log")).find("start it again with its original command"),
            std::string::npos)
      << read_file(path("never.log"));
}

// A new run gets a directory of its own: one holding other files is refused before anything is
// written there; one left by a run stopped before it wrote its configuration is used.
TEST_F(Runs, NewRunNeedsADirectoryOfItsOwn) {
  const std::string cfg = write_config(kTiny);
  fs::create_directories(path("mine"));
  atomic_write(path("mine/notes.txt"), "a user's notes\n");
  EXPECT_EQ(run({"train", cfg, "--run-dir", path("mine"), "-q"}, {}, path("mine.log")), 1);
  EXPECT_NE(read_file(path("mine.log"))
                .find("run directory '" + path("mine") + "' holds other files ('notes.txt')"),
            std::string::npos)
      << read_file(path("mine.log"));
  EXPECT_EQ(std::distance(fs::directory_iterator(path("mine")), fs::directory_iterator()), 1);
  fs::create_directories(path("early"));
  atomic_write(path("early/.lock"), "123\n");
  EXPECT_EQ(run({"train", cfg, "--run-dir", path("early"), "-q", "train.steps=2"}), 0);
}

// Eval writes its result into the run directory: a directory it cannot write into is refused
// before the evaluation, not after it. (As root, the check runs as the unprivileged user
// nobody, whom the directory's permissions stop.)
TEST_F(Runs, EvalOfARunItCannotWriteIsRefusedBeforeEvaluating) {
  const std::string cfg = write_config(kTiny);
  ASSERT_EQ(run({"train", cfg, "--run-dir", path("ro"), "-q", "train.steps=4"}), 0);
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec |
                                  fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  const int log = ::open(path("ro.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  const std::string ro = path("ro");
  const pid_t pid = fork();
  if (pid == 0) {  // system calls only until exec
    dup2(log, 1);
    dup2(log, 2);
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(3);
    execl(HYPERCOMP_BIN, HYPERCOMP_BIN, "eval", ro.c_str(), nullptr);
    _exit(4);
  }
  ::close(log);
  const int status = finish(pid);
  fs::permissions(path("ro"), fs::perms::owner_all, fs::perm_options::add);
  EXPECT_EQ(status, 1) << read_file(path("ro.log"));
  EXPECT_NE(read_file(path("ro.log")).find("cannot write into '" + path("ro") + "'"),
            std::string::npos)
      << read_file(path("ro.log"));
}

// The memory estimate itself stays small: a policy whose parameters alone take 2.1 GiB
// (hnet_linear, hidden 8192: 8 templates of 8192 x 8192 floats) with 4096 tasks per step is
// refused from narrow copies of the configuration, without building it (the process's peak stays
// below those 2 GiB); and a refusal names the keys of the part that does not fit.
TEST_F(Runs, MemoryEstimateOfAHugeConfigurationIsRefusedWithoutBuildingIt) {
  const std::string cfg = write_config(kTiny);
  const pid_t pid = spawn({"train", cfg, "--run-dir", path("huge"), "-q", "policy.hidden=8192",
                           "learner.meta_batch=4096"},
                          {}, path("huge.log"));
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  const std::string out = read_file(path("huge.log"));
  ASSERT_TRUE(WIFEXITED(status)) << out;
  EXPECT_EQ(WEXITSTATUS(status), 2) << out;
  EXPECT_NE(out.find("needs more memory than is available"), std::string::npos) << out;
  EXPECT_NE(out.find("extrapolated from policy.hidden=32, 64 and 128"), std::string::npos) << out;
  EXPECT_NE(out.find("policy.hidden (8192)"), std::string::npos) << out;
  EXPECT_LT(usage.ru_maxrss, 2L << 20) << "KiB: the full-width policy was built";
  EXPECT_FALSE(fs::exists(path("huge")));

  EXPECT_EQ(run({"train", cfg, "--run-dir", path("evals"), "-q", "eval.tasks=1000000"}, {},
                path("evals.log")),
            2);
  const std::string evals = read_file(path("evals.log"));
  EXPECT_NE(evals.find("lower eval.tasks (1000000 tasks in each set)"), std::string::npos) << evals;
  EXPECT_EQ(evals.find("learner.meta_batch"), std::string::npos) << evals;
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

// The Box2D families train through the same paths in their discrete action spaces too (the
// registered continuous ones are trained by coverage_test.cpp): a short run of the modular
// policy lowers the OOD loss (cross-entropy of the expert's actions) and reports closed-loop
// success.
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
    ::testing::Values(std::pair<std::string, std::string>{"push", "discrete"},
                      std::pair<std::string, std::string>{"lander", "discrete"}),
    [](const auto& info) { return info.param.first + "_" + info.param.second; });

}  // namespace
}  // namespace hc::trainer
