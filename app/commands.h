// Subcommands of the hypercomp executable. Each adds itself to the CLI11 app and returns the
// function to run when it is chosen.
#pragma once

#include <CLI/CLI.hpp>

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
Command add_eval(CLI::App& app);
Command add_compare(CLI::App& app);
Command add_probe(CLI::App& app);

// CPU, cores, OS, compiler, LibTorch and BLAS of this machine, for generated reports.
std::string machine_line();

// The family of a config file's `family` section, or the registered defaults of `name`.
std::shared_ptr<tasks::TaskFamily> family_from(const std::string& name, const std::string& config);

}  // namespace hc::app
