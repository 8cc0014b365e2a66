// hypercomp: compositional-generalization environments and hypernetwork meta-learning.
//
// Built twice from this file: hypercomp-torch (HYPERCOMP_WITH_TORCH=1) has every command;
// hypercomp has those that need no tensors and hands every other command line to
// hypercomp-torch, so that they start without loading LibTorch and the ~290 libraries it pulls
// in (about 2 s).
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <new>
#include <string>
#include <vector>

#include "app/commands.h"
#include "base/error.h"

namespace hc::app {
namespace {

std::vector<char*> command_line;

}  // namespace

void run_with_torch() {
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe");
  const std::string torch = (self.parent_path() / "hypercomp-torch").string();
  std::vector<char*> argv = command_line;
  argv.push_back(nullptr);
  execv(torch.c_str(), argv.data());
  throw Error(fmt::format("cannot run {}: {}", torch, std::strerror(errno)));
}

}  // namespace hc::app

int main(int argc, char** argv) {
  hc::app::command_line.assign(argv, argv + argc);
  CLI::App app{
      "hypercomp: environments whose tasks combine hidden modules, and a meta-learning trainer "
      "for hypernetwork policies that recombine them."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "hypercomp " HYPERCOMP_VERSION);
  std::vector<std::pair<CLI::App*, hc::app::Command>> commands;
  const auto add = [&](hc::app::Command (*fn)(CLI::App&)) {
    const size_t before = app.get_subcommands({}).size();
    hc::app::Command run = fn(app);
    commands.emplace_back(app.get_subcommands({})[before], std::move(run));
  };
  add(hc::app::add_envs);
  add(hc::app::add_demo);
  add(hc::app::add_check);
#if HYPERCOMP_WITH_TORCH
  add(hc::app::add_train);
  add(hc::app::add_launch);
  add(hc::app::add_eval);
  add(hc::app::add_compare);
#endif
#ifdef HYPERCOMP_HAVE_RENDER
  add(hc::app::add_watch);
  add(hc::app::add_record);
#endif
#if HYPERCOMP_WITH_TORCH
  add(hc::app::add_probe);
#else
  // The first word that is not an option names the command. One of hypercomp-torch's, an
  // unknown one, or none (help lists every command) is for hypercomp-torch; --version is not.
  const char* first_word = nullptr;
  for (int i = 1; i < argc && !first_word; ++i)
    if (argv[i][0] != '-') first_word = argv[i];
  bool here = argc == 2 && std::strcmp(argv[1], "--version") == 0;
  for (const auto& c : commands) here = here || (first_word && c.first->get_name() == first_word);
  try {
    if (!here) hc::app::run_with_torch();
  } catch (const hc::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
#endif
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::string command;  // the subcommand, for messages
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) {
        command = sub->get_name();
        return run();
      }
  } catch (const hc::ConfigError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
  } catch (const hc::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // std::filesystem's text ("filesystem error: cannot create directories: Not a directory
    // [runs/a]") as a sentence: what was done, to which path, and why it failed.
    std::string op = e.what();
    const std::string reason = e.code().message(), prefix = "filesystem error: ";
    if (op.rfind(prefix, 0) == 0) op = op.substr(prefix.size());
    op = op.substr(0, op.find(": " + reason));
    if (op == "status" || op == "symlink_status") op = "cannot access";
    std::string paths = "'" + e.path1().string() + "'";
    if (!e.path2().empty()) paths += " and '" + e.path2().string() + "'";
    std::fprintf(stderr, "error: %s %s: %s\n", op.c_str(), paths.c_str(), reason.c_str());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr,
                 "error: out of memory: the input of `hypercomp %s` asks for more memory than "
                 "there is (a size in its configuration or arguments)\n",
                 command.c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
