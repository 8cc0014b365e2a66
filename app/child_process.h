// Starting this program again in a child process, for the commands that run several of it at
// once (compare --jobs, launch).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hc::app {

// Starts this executable with `args` (after the program name) in a child process that receives
// `death_signal` when this process ends, so that it never outlives it. `env` is the child's
// whole environment, or null for this process's. `failed` is what the child writes to stderr if
// it cannot execute. Returns the child's pid; throws Error (prefixed with `who`) if it cannot fork.
pid_t start_self(const std::vector<std::string>& args, const std::vector<std::string>* env,
                 int death_signal, const std::string& who, const std::string& failed);

}  // namespace hc::app
