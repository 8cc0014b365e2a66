// Distributed training on loopback: ranks of the hypercomp executable (hypercomp launch, or
// train with --rank) against one process -- equivalence, bitwise reproducibility, dead and
// stopped ranks, resume with another world size, mismatched and malformed ranks.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/io.h"
#include "families/registry.h"
#include "tests/trainer/process.h"
#include "trainer/batch.h"
#include "trainer/distributed.h"
#include "trainer/run.h"

namespace hc::trainer {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Four shards of two tasks: with two ranks each sums two shards, then the ranks' sums are
// added -- another order than one process's left-to-right sum of four.
const char* kConfig = R"(family: {name: compositional_goals}
policy: {name: hnet_linear, hidden: 16}
learner: {meta_batch: 8, inner_steps: 2}
train: {steps: 8, eval_every: 4, checkpoint_every: 2, threads: 1, shards: 4}
eval: {tasks: 8, identification_tasks: 8, closed_loop_tasks: 4}
)";

// A free TCP port on loopback (the kernel's choice; released before the ranks bind it).
int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t n = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  close(fd);
  return ntohs(a.sin_port);
}

std::vector<torch::Tensor> parameters(const std::string& dir) {
  LoadedRun run = load_run(dir);
  std::vector<torch::Tensor> out;
  for (const auto& p : run.policy->parameters()) out.push_back(p.detach().clone());
  return out;
}

// ||a - b|| / ||a|| over all parameters.
double relative_difference(const std::vector<torch::Tensor>& a,
                           const std::vector<torch::Tensor>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (a[i].to(torch::kFloat64) - b[i].to(torch::kFloat64)).square().sum().item<double>();
    norm += a[i].to(torch::kFloat64).square().sum().item<double>();
  }
  return std::sqrt(diff / norm);
}

class Distributed : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hc_dist_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = path("config.yaml");
    std::ofstream(config_) << kConfig;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // Rank `rank` of `world` started by hand, meeting the others in a rendezvous file.
  pid_t start_rank(int rank, int world, std::vector<std::string> args, const std::string& log,
                   double timeout_s = 20) {
    args.insert(args.end(),
                {"-q", "--world-size", std::to_string(world), "--rank", std::to_string(rank),
                 "--rendezvous-file", path("store"), "--dist-timeout", std::to_string(timeout_s)});
    return spawn(args, {}, log);
  }
  fs::path dir_;
  std::string config_;
};

TEST(RankShards, PartitionTheShardsInOrder) {
  for (int shards = 1; shards <= 9; ++shards)
    for (int world = 1; world <= shards; ++world) {
      int next = 0;
      for (int r = 0; r < world; ++r) {
        const auto [first, last] = rank_shards(shards, world, r);
        EXPECT_EQ(first, next);
        EXPECT_GT(last, first) << "every rank gets a shard";
        next = last;
      }
      EXPECT_EQ(next, shards);
    }
}

// A rank's batches are exactly those at its indices of the whole split, made from only its own
// tasks' data.
TEST(RankShards, RankBatchesAreTheWholeSplitsSlices) {
  const auto family = families::make_family("compositional_goals");
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  training_tasks(*family, 7, 3, 11, ids, seeds);
  const std::vector<Batch> all = make_batches(*family, ids, seeds, 5);
  for (int world : {2, 3, 5}) {
    std::vector<Batch> joined;
    for (int r = 0; r < world; ++r)
      for (Batch& b : make_batches(*family, ids, seeds, 5, r, world))
        joined.push_back(std::move(b));
    ASSERT_EQ(joined.size(), all.size());
    for (size_t i = 0; i < all.size(); ++i) {
      EXPECT_EQ(joined[i].task_ids, all[i].task_ids);
      EXPECT_EQ(joined[i].seeds, all[i].seeds);
      EXPECT_TRUE(torch::equal(joined[i].latents, all[i].latents));
      EXPECT_TRUE(torch::equal(joined[i].query.y.labels, all[i].query.y.labels));
    }
  }
}

TEST(DistOptions, IncompleteOrInconsistentOptionsAreNamed) {
  const auto message = [](DistOptions o) {
    try {
      o.complete_from_environment();
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  DistOptions o;
  o.world_size = 2;
  EXPECT_NE(message(o).find("needs a rendezvous"), std::string::npos) << message(o);
  o.master = "10.0.0.1:29500";
  o.rank = 1;
  EXPECT_NE(message(o).find("--bind"), std::string::npos) << "no wildcard default off loopback";
  o.bind = "10.0.0.2";
  EXPECT_EQ(message(o), "");
  o.rank = 2;
  EXPECT_NE(message(o).find("--rank 2 is out of range"), std::string::npos) << message(o);
  o.rank = 0;
  o.master = "host-without-port";
  EXPECT_NE(message(o).find("HOST:PORT"), std::string::npos) << message(o);
  o.master = "127.0.0.1:29500";
  o.bind = "";
  EXPECT_EQ(message(o), "");
}

// Two ranks with half the meta-batch each against one process with all of it: the same tasks,
// the same per-shard gradients, summed in another order. Float32 addition of the four shard
// gradients in another association differs by at most a few units in the last place of the
// largest partial sum (2^-24 relative each); AdamW divides each update by its running RMS, so a
// relative change of the gradient changes the step by about as much, and over 8 steps of
// lr 1e-3 from parameters of norm ~1 this stays orders of magnitude below 1e-5 unless a
// gradient component is itself at the rounding level (where Adam's update could flip sign):
// 1e-5 is the bound the equivalence promises, not a fitted one.
TEST_F(Distributed, TwoRanksReproduceOneProcessWithinReductionTolerance) {
  ASSERT_EQ(run({"train", config_, "--run-dir", path("one"), "-q"}), 0);
  ASSERT_EQ(run({"launch", "--nproc", "2", "train", config_, "--run-dir", path("two"), "-q"}, {},
                path("two.log")),
            0)
      << read_file(path("two.log"));
  const double rel = relative_difference(parameters(path("one")), parameters(path("two")));
  RecordProperty("relative_difference", std::to_string(rel));
  std::printf("relative parameter difference after 8 steps: %.3g\n", rel);
  EXPECT_GT(rel, 0.0) << "four shards on two ranks are summed in another order than in one";
  EXPECT_LT(rel, 1e-5);
  // Evaluation gathers every rank's adapted tasks and scores them as one process does: the
  // evaluation at step 0 (same parameters) is bitwise the same.
  const auto first_line = [](const std::string& f) {
    std::ifstream in(f);
    std::string l;
    std::getline(in, l);
    return l;
  };
  EXPECT_EQ(first_line(path("one/metrics.jsonl")), first_line(path("two/metrics.jsonl")));
  EXPECT_EQ(count_lines(path("one/metrics.jsonl")), count_lines(path("two/metrics.jsonl")));
  const auto summary = read_json(path("two/summary.json"));
  EXPECT_EQ(summary["distributed"]["world_size"], 2);
  EXPECT_GT(summary["distributed"]["bytes_reduced_per_step"].get<int64_t>(), 0);

  // With two shards the cross-rank sum is one addition, as in one process: bitwise equal.
  ASSERT_EQ(run({"train", config_, "train.shards=2", "--run-dir", path("one2"), "-q"}), 0);
  ASSERT_EQ(run({"launch", "--nproc", "2", "train", config_, "train.shards=2", "--run-dir",
                 path("two2"), "-q"}),
            0);
  EXPECT_EQ(read_file(path("one2/metrics.jsonl")), read_file(path("two2/metrics.jsonl")));
}

TEST_F(Distributed, SameWorldSizeIsBitwiseReproducibleOverEitherStore) {
  ASSERT_EQ(run({"launch", "--nproc", "2", "train", config_, "--run-dir", path("a"), "-q"}), 0);
  const std::string port = std::to_string(free_port());
  ASSERT_EQ(run({"launch", "--nproc", "2", "--master-port", port, "train", config_, "--run-dir",
                 path("b"), "-q"},
                {}, path("b.log")),
            0)
      << read_file(path("b.log"));
  for (const char* f : {"metrics.jsonl", "train.csv", "eval.csv"})
    EXPECT_EQ(read_file(path(std::string("a/") + f)), read_file(path(std::string("b/") + f))) << f;
  EXPECT_EQ(relative_difference(parameters(path("a")), parameters(path("b"))), 0.0);
}

// A rank killed mid-run: the other stops at once with an error naming what happened and how to
// continue; the checkpoint is intact and the run resumes with one rank or with two. With two
// shards the cross-rank sum is the one addition a single process makes, so both resumed runs end
// bitwise like the uninterrupted two-rank run.
TEST_F(Distributed, DeadRankStopsTheOtherAndTheRunResumesWithAnyWorldSize) {
  const std::vector<std::string> args = {"train",
                                         config_,
                                         "train.shards=2",
                                         "train.steps=200",
                                         "train.checkpoint_every=10",
                                         "train.eval_every=50"};
  std::vector<std::string> full = {"launch", "--nproc", "2"};
  full.insert(full.end(), args.begin(), args.end());
  full.insert(full.end(), {"--run-dir", path("full"), "-q"});
  ASSERT_EQ(run(full), 0);
  std::vector<std::string> cut = args;
  cut.insert(cut.end(), {"--run-dir", path("cut")});
  const pid_t lead = start_rank(0, 2, cut, path("lead.log"));
  const pid_t other = start_rank(1, 2, cut, path("other.log"));
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!fs::exists(path("cut/checkpoint.pt")) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(kill(other, SIGKILL), 0);
  const auto killed = Clock::now();
  EXPECT_EQ(finish(lead), 1);
  finish(other);
  // A dead peer is seen by the transport at once, well before the 20 s timeout.
  EXPECT_LT(Clock::now() - killed, std::chrono::seconds(10));
  const std::string log = read_file(path("lead.log"));
  EXPECT_NE(log.find("rank 0 of 2"), std::string::npos) << log;
  EXPECT_NE(log.find("--resume " + path("cut")), std::string::npos) << log;
  ASSERT_FALSE(fs::exists(path("cut/summary.json"))) << "finished before the kill";
  EXPECT_NO_THROW(load_run(path("cut")));

  fs::copy(path("cut"), path("cut1"), fs::copy_options::recursive);
  ASSERT_EQ(run({"train", "--resume", path("cut1"), "-q"}, {}, path("one.log")), 0)
      << read_file(path("one.log"));
  ASSERT_EQ(
      run({"launch", "--nproc", "2", "train", "--resume", path("cut"), "-q"}, {}, path("two.log")),
      0)
      << read_file(path("two.log"));
  for (const char* resumed : {"cut1/", "cut/"})
    for (const char* f : {"metrics.jsonl", "train.csv", "eval.csv"})
      EXPECT_EQ(read_file(path(std::string("full/") + f)),
                read_file(path(std::string(resumed) + f)))
          << resumed << f;
}

// A rank that stops answering (SIGSTOP: alive, connected, silent) is detected by the timeout.
TEST_F(Distributed, StoppedRankIsDetectedWithinTheTimeout) {
  const std::vector<std::string> args = {"train", config_, "train.steps=100000", "--run-dir",
                                         path("r")};
  const pid_t lead = start_rank(0, 2, args, path("lead.log"), 2);
  const pid_t other = start_rank(1, 2, args, path("other.log"), 2);
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (!fs::exists(path("r/checkpoint.pt")) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(kill(other, SIGSTOP), 0);
  const auto stopped = Clock::now();
  EXPECT_EQ(finish(lead), 1);
  const double waited = std::chrono::duration<double>(Clock::now() - stopped).count();
  kill(other, SIGKILL);
  finish(other);
  EXPECT_GE(waited, 1.0) << "stopped before the timeout";
  EXPECT_LT(waited, 15.0) << "a 2 s timeout, with a margin for a loaded machine";
  const std::string log = read_file(path("lead.log"));
  EXPECT_NE(log.find("Timed out"), std::string::npos) << log;
  EXPECT_NO_THROW(load_run(path("r")));
}

TEST_F(Distributed, MismatchedConfigurationsAreRefusedBeforeTraining) {
  const pid_t a = start_rank(0, 2, {"train", config_, "--run-dir", path("r")}, path("a.log"));
  const pid_t b = start_rank(
      1, 2, {"train", config_, "learner.inner_lr=0.2", "--run-dir", path("r")}, path("b.log"));
  EXPECT_EQ(finish(a), 1);
  EXPECT_EQ(finish(b), 1);
  for (const char* f : {"a.log", "b.log"}) {
    const std::string log = read_file(path(f));
    EXPECT_NE(log.find("rank 1's resolved configuration differs from rank 0's"), std::string::npos)
        << log;
    EXPECT_NE(log.find("inner_lr: 0.2"), std::string::npos) << log;
  }
  EXPECT_FALSE(fs::exists(path("r"))) << "nothing is written before the ranks agree";

  // A rank whose own setup fails tells the others, which stop naming it.
  const pid_t c = start_rank(0, 2, {"train", config_, "--run-dir", path("s")}, path("c.log"));
  const pid_t d = start_rank(
      1, 2, {"train", config_, "learner.meta_batch=0", "--run-dir", path("s")}, path("d.log"));
  EXPECT_EQ(finish(c), 1);
  EXPECT_EQ(finish(d), 2) << "its own configuration error, as in one process";
  EXPECT_NE(read_file(path("c.log")).find("rank 1 could not start"), std::string::npos)
      << read_file(path("c.log"));
  EXPECT_NE(read_file(path("d.log")).find("meta_batch"), std::string::npos);
}

// This test process joins as rank 1 and sends bytes that are not a start message.
TEST_F(Distributed, MalformedMessageFromARankIsAnError) {
  const pid_t lead =
      start_rank(0, 2, {"train", config_, "--run-dir", path("r")}, path("a.log"), 10);
  DistOptions o;
  o.world_size = 2;
  o.rank = 1;
  o.file = path("store");
  o.timeout_s = 10;
  o.complete_from_environment();
  {
    Group group(o);
    group.all_gather("\x01garbage, not a start message");
    // Rank 0 refuses it and leaves: the next collective fails here too, with an error.
    EXPECT_THROW(group.barrier(), DistError);
  }
  EXPECT_EQ(finish(lead), 1);
  const std::string log = read_file(path("a.log"));
  EXPECT_NE(log.find("rank 1 sent a malformed start message"), std::string::npos) << log;
  EXPECT_THROW(unpickle("not pickled tensors", "evaluation results"), DistError);
}

// The fields of /proc/PID/stat after the command name ("state ppid ..."), or "" when the process
// has ended (it may end between a listing of /proc and this read). The name may hold spaces, so
// the fields start after its closing parenthesis.
std::string stat_fields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return "";
  const auto close = stat.rfind(')');
  return close == std::string::npos || close + 2 > stat.size() ? "" : stat.substr(close + 2);
}

// The processes whose parent is `pid`, from /proc.
std::vector<pid_t> children_of(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string name = e.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::istringstream rest(stat_fields(std::stoi(name)));
    char state;
    pid_t parent = 0;
    if (rest >> state >> parent && parent == pid) out.push_back(std::stoi(name));
  }
  return out;
}

// Whether a process still runs (a zombie no longer does).
bool alive(pid_t pid) {
  const std::string fields = stat_fields(pid);
  return !fields.empty() && fields[0] != 'Z';
}

// The child of `launcher` that is rank `rank` (its environment has RANK=rank).
pid_t rank_of(pid_t launcher, int rank) {
  const std::string want = "RANK=" + std::to_string(rank);
  for (pid_t p : children_of(launcher)) {
    std::ifstream in("/proc/" + std::to_string(p) + "/environ");
    for (std::string var; std::getline(in, var, '\0');)
      if (var == want) return p;
  }
  return -1;
}

// Waits up to `limit` for `pid` to end; kills it if it does not. Returns its exit status, or -1
// if it had to be killed.
int finish_within(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = Clock::now() + limit;
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -2;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// A stopped rank never hangs launch: when rank 0 stops at its timeout, launch ends the others,
// a stopped one included. (The limit only catches a hang: launch ends a few seconds after the 2 s
// timeout.)
TEST_F(Distributed, StoppedRankNeverHangsLaunch) {
  const pid_t launcher = spawn({"launch", "--nproc", "2", "--dist-timeout", "2", "train", config_,
                                "train.steps=100000", "--run-dir", path("r"), "-q"},
                               {}, path("launch.log"));
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!fs::exists(path("r/checkpoint.pt")) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const pid_t other = rank_of(launcher, 1);
  ASSERT_GT(other, 0);
  ASSERT_EQ(kill(other, SIGSTOP), 0);
  const int status = finish_within(launcher, std::chrono::seconds(120));
  if (alive(other)) kill(other, SIGKILL);
  EXPECT_EQ(status, 1) << "launch hung (-1) or ended otherwise\n" << read_file(path("launch.log"));
  const std::string log = read_file(path("launch.log"));
  EXPECT_NE(log.find("Timed out"), std::string::npos) << log;
  EXPECT_NE(log.find("launch: rank 0 of 2 failed (exit status 1); ended the rank(s) still "
                     "running: 1"),
            std::string::npos)
      << log;
}

// With the master port taken, rank 0 fails at once and launch ends at once with one clear
// error, without glog's start-up noise, instead of waiting for the other rank's 60 s timeout.
TEST_F(Distributed, TakenMasterPortEndsLaunchAtOnceNamingThePort) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(listen(fd, 4), 0);
  socklen_t n = sizeof(a);
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  const std::string port = std::to_string(ntohs(a.sin_port));
  const auto t0 = Clock::now();
  const pid_t launcher = spawn({"launch", "--nproc", "2", "--master-port", port, "--dist-timeout",
                                "60", "train", config_, "--run-dir", path("r"), "-q"},
                               {}, path("launch.log"));
  const int status = finish_within(launcher, std::chrono::seconds(180));
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  close(fd);
  const std::string log = read_file(path("launch.log"));
  EXPECT_EQ(status, 1) << log;
  EXPECT_LT(took, 60) << "launch waited for the other rank's timeout\n" << log;
  EXPECT_NE(log.find("rank 0 cannot host the rendezvous store at 127.0.0.1:" + port +
                     ": the port is in use by another process"),
            std::string::npos)
      << log;
  EXPECT_EQ(log.find("InitGoogleLogging"), std::string::npos) << log;
  EXPECT_EQ(log.find("socket.cpp"), std::string::npos) << "glog's lines\n" << log;
}

// --dist-timeout is a number of seconds a rank can wait: NaN, infinity, a nanosecond or zero are
// refused before any rank starts.
TEST_F(Distributed, DistTimeoutOutsideItsRangeIsRefusedBeforeStarting) {
  for (const char* t : {"nan", "inf", "1e-9", "0", "-5"}) {
    EXPECT_EQ(run({"launch", "--nproc", "2", "--dist-timeout", t, "train", config_, "--run-dir",
                   path("r")},
                  {}, path("t.log")),
              2)
        << t;
    const std::string log = read_file(path("t.log"));
    EXPECT_EQ(log.rfind("error: --dist-timeout ", 0), 0u) << log;
    EXPECT_NE(log.find(": expected a number of seconds from 1 to 1000000"), std::string::npos)
        << log;
  }
  EXPECT_EQ(run({"train", config_, "--world-size", "2", "--rank", "1", "--rendezvous-file",
                 path("store"), "--dist-timeout", "inf"},
                {}, path("t.log")),
            2);
  EXPECT_NE(read_file(path("t.log")).find("--dist-timeout inf: expected"), std::string::npos)
      << read_file(path("t.log"));
  EXPECT_FALSE(fs::exists(path("r")));
}

// Ranks never outlive their launcher: killed with SIGKILL, it takes its ranks with it, and its
// rendezvous directory is removed. (The limit only catches ranks that stay: they end at once.)
TEST_F(Distributed, KilledLauncherTakesItsRanksAndRendezvousWithIt) {
  fs::create_directories(path("tmp"));
  const pid_t launcher = spawn({"launch", "--nproc", "2", "train", config_, "train.steps=100000",
                                "--run-dir", path("r"), "-q"},
                               {"TMPDIR=" + path("tmp")}, path("launch.log"));
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  while (!fs::exists(path("r/checkpoint.pt")) && Clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const std::vector<pid_t> ranks = {rank_of(launcher, 0), rank_of(launcher, 1)};
  ASSERT_GT(ranks[0], 0);
  ASSERT_GT(ranks[1], 0);
  ASSERT_FALSE(fs::is_empty(path("tmp"))) << "the rendezvous directory";
  ASSERT_EQ(kill(launcher, SIGKILL), 0);
  finish(launcher);
  const auto limit = Clock::now() + std::chrono::seconds(60);
  while ((alive(ranks[0]) || alive(ranks[1]) || !fs::is_empty(path("tmp"))) && Clock::now() < limit)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (pid_t r : ranks) {
    EXPECT_FALSE(alive(r)) << "rank " << r << " outlived its launcher";
    if (alive(r)) kill(r, SIGKILL);
  }
  EXPECT_TRUE(fs::is_empty(path("tmp"))) << "the rendezvous directory was left behind";
}

TEST_F(Distributed, LaunchRefusesWhatItSetsItself) {
  EXPECT_EQ(run({"launch", "--nproc", "2", "train", config_, "--rank", "1"}, {}, path("l.log")), 2);
  EXPECT_NE(read_file(path("l.log")).find("--rank is set by launch"), std::string::npos);
  EXPECT_EQ(run({"launch", "--nproc", "2", "eval", path("x")}, {}, path("l.log")), 2);
  EXPECT_NE(read_file(path("l.log")).find("expected the ranks' command"), std::string::npos);
  EXPECT_EQ(
      run({"launch", "--nproc", "4", "train", config_, "train.shards=2", "--run-dir", path("few")},
          {}, path("l.log")),
      2);
  EXPECT_NE(read_file(path("l.log")).find("train.shards=2 is fewer than the 4 ranks"),
            std::string::npos)
      << read_file(path("l.log"));
}

}  // namespace
}  // namespace hc::trainer
