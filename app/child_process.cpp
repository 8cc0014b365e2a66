#include "app/child_process.h"

#include <fmt/format.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/error.h"

extern char** environ;

namespace hc::app {

pid_t start_self(const std::vector<std::string>& args, const std::vector<std::string>* env,
                 int death_signal, const std::string& who, const std::string& failed) {
  // Everything the child needs is made before the fork: after it, the child may only make
  // system calls (another thread may have held the allocator's lock at the fork).
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> args_s{self};
  args_s.insert(args_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : args_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  std::vector<char*> envp;
  if (env) {
    env_s = *env;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  char* const* child_env = env ? envp.data() : environ;
  const std::string message = failed + "\n";
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) throw Error(fmt::format("{}: cannot fork: {}", who, std::strerror(errno)));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, death_signal);
    if (getppid() != parent) _exit(126);  // the parent ended before the line above
    execve(self.c_str(), argv.data(), child_env);
    [[maybe_unused]] const ssize_t n = write(2, message.data(), message.size());
    _exit(127);
  }
  return pid;
}

}  // namespace hc::app
