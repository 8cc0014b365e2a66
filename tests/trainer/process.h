// The hypercomp executable run as a child process, as a user runs it.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <string>
#include <vector>

extern char** environ;

namespace hc::trainer {

// Starts hypercomp with `args`, extra environment variables and its output in `log`.
inline pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                   const std::string& log = "/dev/null") {
  std::vector<char*> argv;
  std::string bin = HYPERCOMP_BIN;
  argv.push_back(bin.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  std::vector<char*> envp;
  for (auto& e : env_copy) envp.push_back(e.data());
  for (char** e = environ; *e; ++e) envp.push_back(*e);
  envp.push_back(nullptr);
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&files, 1, 2);
  pid_t pid;
  EXPECT_EQ(posix_spawn(&pid, bin.c_str(), &files, nullptr, argv.data(), envp.data()), 0);
  posix_spawn_file_actions_destroy(&files);
  return pid;
}

// The exit status, or -1 if the process was killed.
inline int finish(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

inline int run(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
               const std::string& log = "/dev/null") {
  return finish(spawn(args, env, log));
}

}  // namespace hc::trainer
