// Subcommands of the hypercomp executable. Each adds itself to the CLI11 app and returns the
// function to run when it is chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <charconv>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "tasks/task_family.h"

namespace hc::app {

using Command = std::function<int()>;

Command add_envs(CLI::App& app);
Command add_demo(CLI::App& app);
Command add_check(CLI::App& app);
Command add_train(CLI::App& app);
Command add_launch(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_compare(CLI::App& app);
// Only with the renderer (HYPERCOMP_RENDER).
Command add_watch(CLI::App& app);
Command add_record(CLI::App& app);

// A seed option: a non-negative integer below 2^64, checked as text (converting alone would
// wrap "-5" to 2^64 - 5 and saturate 99999999999999999999 silently).
inline CLI::Validator seed_check() {
  return CLI::Validator(
      [](std::string& s) -> std::string {
        uint64_t v = 0;
        const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size())
          return "expected an integer in [0, 18446744073709551615], got '" + s + "'";
        return "";
      },
      "SEED");
}

Command add_probe(CLI::App& app);

// Runs this command line with hypercomp-torch, beside this executable: for what needs LibTorch,
// which hypercomp does not load (main.cpp). Returns only by an Error.
[[noreturn]] void run_with_torch();

// CPU, cores, OS, compiler, LibTorch and BLAS of this machine, for generated reports.
std::string machine_line();

}  // namespace hc::app
