// hypercomp launch: starts the ranks of a distributed training on this machine, as torchrun
// does for PyTorch -- each rank is this executable's `train` with WORLD_SIZE, RANK and the
// rendezvous in its environment. Everything listens on loopback only.
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "app/commands.h"
#include "base/error.h"

extern char** environ;

namespace hc::app {
namespace fs = std::filesystem;

namespace {

pid_t start_rank(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> argv_s{self};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
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
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = 0;
  if (const int err = posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), envp.data()))
    throw Error(fmt::format("launch: cannot start a rank ({}): {}", self, std::strerror(err)));
  return pid;
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
    args.insert(args.begin() + 1, {"--dist-timeout", fmt::format("{}", *timeout)});

    std::string rendezvous_dir;
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
      common.push_back("HYPERCOMP_RENDEZVOUS_FILE=" + (fs::path(tmpl) / "store").string());
    }
    std::vector<pid_t> pids;
    for (int r = 0; r < *nproc; ++r) {
      std::vector<std::string> env = common;
      env.push_back(fmt::format("RANK={}", r));
      env.push_back(fmt::format("LOCAL_RANK={}", r));
      pids.push_back(start_rank(args, env));
    }
    // Wait for every rank. After the first failure the others normally stop on their own within
    // moments (their peer is gone); any still running after the timeout are terminated.
    int code = 0;
    int failed_rank = -1;
    std::optional<std::chrono::steady_clock::time_point> first_failure;
    size_t running = pids.size();
    bool terminated = false;
    while (running > 0) {
      int status = 0;
      const pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid > 0) {
        --running;
        const int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (rc != 0 && code == 0) {
          code = rc;
          for (size_t r = 0; r < pids.size(); ++r)
            if (pids[r] == pid) failed_rank = static_cast<int>(r);
          first_failure = std::chrono::steady_clock::now();
        }
        continue;
      }
      if (pid < 0) break;
      if (!terminated && first_failure &&
          std::chrono::steady_clock::now() - *first_failure >
              std::chrono::duration<double>(*timeout + 10)) {
        for (pid_t p : pids) kill(p, SIGTERM);
        terminated = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!rendezvous_dir.empty()) {
      std::error_code ignored;
      fs::remove_all(rendezvous_dir, ignored);
    }
    if (code != 0)
      fmt::print(stderr, "launch: rank {} of {} failed (exit status {})\n", failed_rank, *nproc,
                 code);
    return code;
  };
}

}  // namespace hc::app
