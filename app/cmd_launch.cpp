// hypercomp launch: starts the ranks of a distributed training on this machine, as torchrun
// does for PyTorch -- each rank is this executable's `train` with WORLD_SIZE, RANK and the
// rendezvous in its environment. Everything listens on loopback only.
//
// The ranks never outlive the launcher: each dies with it (PR_SET_PDEATHSIG), and a child that
// only waits for the launcher to end removes the rendezvous directory, however it ends.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "app/child_process.h"
#include "app/commands.h"
#include "base/error.h"
#include "trainer/distributed.h"

extern char** environ;

namespace hc::app {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// A stopped rank, or one that does not end on SIGTERM, is killed this long after SIGTERM. The
// default action of SIGTERM ends a running process at once; this only bounds the exceptions.
constexpr std::chrono::seconds kKillAfter{5};

pid_t start_rank(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  // The launcher's environment, with the rank's variables in place of any inherited ones.
  std::vector<std::string> env_s = env;
  for (char** e = environ; *e; ++e) {
    const std::string kv = *e;
    const std::string key = kv.substr(0, kv.find('='));
    bool ours = false;
    for (const auto& mine : env) ours = ours || mine.substr(0, mine.find('=')) == key;
    for (const char* k : {"MASTER_ADDR", "MASTER_PORT", "HYPERCOMP_RENDEZVOUS_FILE"})
      ours = ours || key == k;
    if (!ours) env_s.push_back(kv);
  }
  return start_self(args, &env_s, SIGKILL, "launch", "launch: cannot execute the rank's program");
}

// Removes `dir` (holding the file `store`) when the launcher ends, however it ends: a child
// that waits for the end of a pipe only the launcher holds open. Returns the child and that end;
// closing it lets the child finish.
std::pair<pid_t, int> start_janitor(const std::string& dir, const std::string& store) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    throw Error(fmt::format("launch: cannot create a pipe: {}", std::strerror(errno)));
  const pid_t pid = fork();
  if (pid < 0) throw Error(fmt::format("launch: cannot fork: {}", std::strerror(errno)));
  if (pid == 0) {
    // The child of a fork: system calls only. It holds none of the launcher's output open, and
    // outlives a Ctrl-C or SIGTERM sent to the launcher's whole process group: it ends when the
    // launcher does.
    close(fds[1]);
    for (int fd : {0, 1, 2}) close(fd);
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) sigaction(sig, &ignore, nullptr);
    char c;
    for (;;) {
      const ssize_t n = read(fds[0], &c, 1);
      if (n == 0 || (n < 0 && errno != EINTR)) break;
    }
    unlink(store.c_str());
    rmdir(dir.c_str());
    _exit(0);
  }
  close(fds[0]);
  return {pid, fds[1]};
}

}  // namespace

Command add_launch(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "launch",
      "Start K local ranks of a distributed training: hypercomp launch --nproc K train CONFIG "
      "[overrides] [--run-dir DIR | --resume DIR]");
  auto nproc = std::make_shared<int>(2);
  auto port = std::make_shared<int>(0);
  auto timeout = std::make_shared<double>(600);
  cmd->add_option("--nproc", *nproc, "Ranks to start on this machine")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--master-port", *port,
                  "Rendezvous through a TCP store on 127.0.0.1:PORT (default: a private file, "
                  "with no listening socket)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--dist-timeout", *timeout,
                  "Seconds a rank waits for the others before stopping with an error")
      ->capture_default_str();
  cmd->prefix_command();  // everything from `train` on belongs to the ranks
  return [cmd, nproc, port, timeout]() {
    std::vector<std::string> args = cmd->remaining();
    if (args.empty() || args.front() != "train")
      throw ConfigError(
          "launch: expected the ranks' command after the options, e.g. `hypercomp launch --nproc "
          "2 train configs/quick/goals_hnet_linear.yaml`");
    for (const auto& a : args)
      for (const char* own : {"--world-size", "--rank", "--master", "--rendezvous-file", "--bind"})
        if (a == own || a.rfind(std::string(own) + "=", 0) == 0)
          throw ConfigError(fmt::format("launch: {} is set by launch for each rank; drop it", own));
    trainer::DistOptions::check_timeout(*timeout);
    args.insert(args.begin() + 1, {"--dist-timeout", fmt::format("{}", *timeout)});

    std::string rendezvous_dir;
    std::pair<pid_t, int> janitor{-1, -1};
    std::vector<std::string> common{fmt::format("WORLD_SIZE={}", *nproc),
                                    fmt::format("LOCAL_WORLD_SIZE={}", *nproc)};
    if (*port > 0) {
      common.push_back("MASTER_ADDR=127.0.0.1");
      common.push_back(fmt::format("MASTER_PORT={}", *port));
    } else {
      std::string tmpl = (fs::temp_directory_path() / "hypercomp-launch-XXXXXX").string();
      if (!mkdtemp(tmpl.data()))
        throw Error(fmt::format("launch: cannot create a rendezvous directory under {}: {}",
                                fs::temp_directory_path().string(), std::strerror(errno)));
      rendezvous_dir = tmpl;  // mode 0700: no other user can join or disturb the rendezvous
      const std::string store = (fs::path(tmpl) / "store").string();
      janitor = start_janitor(rendezvous_dir, store);
      common.push_back("HYPERCOMP_RENDEZVOUS_FILE=" + store);
    }
    std::vector<pid_t> pids;
    for (int r = 0; r < *nproc; ++r) {
      std::vector<std::string> env = common;
      env.push_back(fmt::format("RANK={}", r));
      env.push_back(fmt::format("LOCAL_RANK={}", r));
      pids.push_back(start_rank(args, env));
    }
    // Wait for every rank. Once one has failed the run cannot go on. If it is rank 0 (the one
    // that writes the run directory and reports why it stopped), the others are ended at once:
    // one waiting for a peer could otherwise wait the whole timeout, and a stopped one forever.
    // If it is another rank, rank 0 normally stops within moments (its peer is gone) and says how
    // to resume; whatever still runs a timeout later is ended. Ending is SIGTERM (with SIGCONT,
    // for a stopped rank), then SIGKILL.
    std::vector<int> status(pids.size(), -1);  // exit status per rank, -1 while it runs
    int failed_rank = -1;
    std::optional<Clock::time_point> end_others_at, kill_at;
    std::vector<int> ended;  // ranks the launcher terminated
    const auto running = [&] { return std::count(status.begin(), status.end(), -1); };
    while (running() > 0) {
      for (size_t r = 0; r < pids.size(); ++r) {
        int st = 0;
        if (status[r] != -1 || waitpid(pids[r], &st, WNOHANG) != pids[r]) continue;
        status[r] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (status[r] != 0 && failed_rank < 0) {
          failed_rank = static_cast<int>(r);
          const double grace_s = r == 0 ? 0 : *timeout + 10;
          end_others_at = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(grace_s));
        }
      }
      const auto now = Clock::now();
      if (end_others_at && now >= *end_others_at && !kill_at) {
        for (size_t r = 0; r < pids.size(); ++r)
          if (status[r] == -1) {
            kill(pids[r], SIGTERM);
            kill(pids[r], SIGCONT);
            ended.push_back(static_cast<int>(r));
          }
        kill_at = now + kKillAfter;
      }
      if (kill_at && now >= *kill_at)
        for (size_t r = 0; r < pids.size(); ++r)
          if (status[r] == -1) kill(pids[r], SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!rendezvous_dir.empty()) {
      std::error_code ignored;
      fs::remove_all(rendezvous_dir, ignored);
      close(janitor.second);  // the janitor finds nothing left and ends
      waitpid(janitor.first, nullptr, 0);
    }
    const int code = failed_rank < 0 ? 0 : status[failed_rank];
    if (code != 0) {
      fmt::print(stderr, "launch: rank {} of {} failed (exit status {})", failed_rank, *nproc,
                 code);
      if (!ended.empty())
        fmt::print(stderr, "; ended the rank(s) still running: {}", fmt::join(ended, ", "));
      fmt::print(stderr, "\n");
    }
    return code;
  };
}

}  // namespace hc::app
