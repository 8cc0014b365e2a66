// The hypercomp executable, run as a user runs it.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "base/io.h"

namespace {

struct Result {
  int status;
  std::string out;
};

// A shell command line, its output (stdout and stderr) captured.
Result shell(const std::string& cmd) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((cmd + " 2>&1").c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe.release());
  return {WEXITSTATUS(status), out};
}

Result run(const std::string& args) { return shell(std::string(HYPERCOMP_BIN) + " " + args); }

// `hypercomp args` in the directory `dir`, killed after `limit_s` seconds (status 137).
Result run_in(const std::string& dir, const std::string& args, int limit_s) {
  return shell("cd '" + dir + "' && timeout -s KILL " + std::to_string(limit_s) + " " +
               HYPERCOMP_BIN + " " + args);
}

TEST(Cli, EnvsListsFamiliesWithSplitSizes) {
  const auto r = run("envs");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("compositional_goals"), std::string::npos);
  EXPECT_NE(r.out.find("= 200 tasks"), std::string::npos);
  EXPECT_NE(r.out.find("150 train, 50 OOD"), std::string::npos);
  EXPECT_NE(r.out.find("compositional_preference"), std::string::npos);
  EXPECT_NE(r.out.find("69 train, 23 OOD"), std::string::npos);
}

TEST(Cli, DemoJsonReplaysToTheRecordedEpisode) {
  const auto r = run("demo compositional_goals --seed 4 --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto d = nlohmann::json::parse(r.out);
  const int n = d["start"]["grid_size"];
  const int channels = d["observation_shape"][2];
  // Replay the actions on the JSON's own layout: walls block, the agent channel moves.
  int row = d["start"]["agent"]["row"], col = d["start"]["agent"]["col"];
  const auto walls = d["start"]["walls"].get<std::vector<std::string>>();
  const int deltas[4][2] = {{-1, 0}, {0, 1}, {1, 0}, {0, -1}};
  for (const auto& s : d["steps"]) {
    const auto& obs = s["observation"];
    ASSERT_EQ(obs.size(), static_cast<size_t>(n * n * channels));
    EXPECT_EQ(obs[(row * n + col) * channels + channels - 1], 1.0);
    const int a = s["action"];
    if (a < 4) {
      const int r2 = row + deltas[a][0], c2 = col + deltas[a][1];
      if (r2 >= 0 && r2 < n && c2 >= 0 && c2 < n && walls[r2][c2] != '#') row = r2, col = c2;
    }
  }
  EXPECT_EQ(row, d["start"]["goal"]["row"]);
  EXPECT_EQ(col, d["start"]["goal"]["col"]);
  EXPECT_EQ(d["steps"].back()["reward"], 1.0);
  EXPECT_TRUE(d["steps"].back()["terminated"].get<bool>());
  EXPECT_EQ(d["steps"].back()["action"], 4 + d["start"]["interaction"].get<int>());
}

TEST(Cli, DemoAsciiOfBothGridworlds) {
  for (const char* family : {"compositional_goals", "compositional_preference"}) {
    const auto r = run(std::string("demo ") + family + " --split ood --seed 2");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("step 0: start"), std::string::npos);
    EXPECT_NE(r.out.find("@"), std::string::npos);
    EXPECT_NE(r.out.find("episode:"), std::string::npos);
  }
  const auto r =
      run("demo compositional_goals --task 'quadrant=top_left interaction=1 maze=2 object=4'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("quadrant=top_left interaction=1 maze=2 object=4"), std::string::npos);
}

TEST(Cli, DemoWithAConfigFile) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("hypercomp_cli_demo_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << "family:\n  name: compositional_goals\n  grid_size: 9\n  num_mazes: 2\n";
  const auto r = run("demo compositional_goals --json --config " + path.string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(nlohmann::json::parse(r.out)["start"]["grid_size"], 9);
}

TEST(Cli, BadInputGivesOneClearErrorAndStatus) {
  auto r = run("demo compositional_goals --task 9999");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("error: task index 9999 out of range"), std::string::npos) << r.out;
  r = run("demo nosuchfamily");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("unknown task family 'nosuchfamily'"), std::string::npos) << r.out;
  r = run("demo compositional_goals --config /nonexistent.yaml");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("/nonexistent.yaml: cannot open"), std::string::npos) << r.out;
}

TEST(Cli, PrintConfigShowsTheResolvedConfigurationAndTrainsNothing) {
  const auto r = run("train " HYPERCOMP_SOURCE_DIR
                     "/configs/quick/goals_anil.yaml learner.inner_steps=3 --print-config");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("  inner_steps: 3\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  grid_size: 5\n"), std::string::npos) << "from the file";
  EXPECT_NE(r.out.find("  identification_tasks: 256\n"), std::string::npos) << "a default";
  const auto bad = run("train " HYPERCOMP_SOURCE_DIR
                       "/configs/quick/goals_anil.yaml learner.inner_stepz=3 --print-config");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("inner_stepz"), std::string::npos) << bad.out;
}

// What is given as a configuration: a key given twice (in a file or on the command line), a
// directory, a device that never ends, a file far too large. Each is refused (or, for an override
// given twice, the last one is in effect) with a message naming it, at once.
TEST(Cli, ConfigInputsOfEveryKindAreRefusedNamingThem) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("hypercomp_cli_inputs_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "configs");
  const std::string top = (dir / "top.yaml").string(), nested = (dir / "nested.yaml").string();
  std::ofstream(top) << "family: {name: compositional_goals}\ntrain: {steps: 4}\n"
                     << "policy: {hidden: 8}\ntrain: {steps: 9}\n";
  std::ofstream(nested) << "family: {name: compositional_goals}\ntrain:\n  steps: 4\n"
                        << "  seed: 1\n  steps: 9\n";
  auto r = run("train " + top + " --print-config");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find(top + ":4: duplicate key 'train' (first given at line 2)"),
            std::string::npos)
      << r.out;
  r = run("train " + nested + " --print-config");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find(nested + ":5: duplicate key 'train.steps' (first given at line 3)"),
            std::string::npos)
      << r.out;

  r = run("train " + (dir / "configs").string() + " family.name=point_reach --print-config");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find((dir / "configs").string() + ": is a directory, not a config file"),
            std::string::npos)
      << r.out;
  r = run("probe " + (dir / "run").string() + " --config " + (dir / "configs").string());
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("is a directory, not a config file"), std::string::npos) << r.out;
  r = run("train /dev/zero --print-config");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("/dev/zero: is a character device, not a config file"), std::string::npos)
      << r.out;
  const std::string big = (dir / "big.yaml").string();
  std::ofstream(big) << "family: {name: compositional_goals}\n"
                     << std::string(2 << 20, '#') << "\n";
  r = run("train " + big + " --print-config");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find(big + ": is 2097189 bytes; a config file is at most 1048576 bytes"),
            std::string::npos)
      << r.out;

  // The last of two overrides of a key is in effect, and it is the one an error names.
  const std::string cfg = HYPERCOMP_SOURCE_DIR "/configs/quick/goals_anil.yaml";
  r = run("train " + cfg + " train.steps=4 train.steps=abc --print-config");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("override 'train.steps=abc'"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("train.steps=4'"), std::string::npos) << r.out;
  r = run("train " + cfg + " train.steps=abc train.steps=4 --print-config");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("  steps: 4\n"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

// Fuzzed command lines: every command with arguments drawn from paths of every kind (missing,
// directories, devices, a file used as a directory, /, very long names) and values that stress
// parsers. Each must succeed, or end with one error line that is a sentence of ours (not a
// library's raw text), never a signal or a hang. HC_FUZZ_INPUTS sets how many (the suite runs a
// few), HC_FUZZ_SEED the stream; each input runs in a fresh sandbox as its working directory.
TEST(Cli, FuzzedCommandLinesSucceedOrEndWithOneClearError) {
  namespace fs = std::filesystem;
  const char* env_inputs = std::getenv("HC_FUZZ_INPUTS");
  const char* env_seed = std::getenv("HC_FUZZ_SEED");
  const int inputs = env_inputs ? std::atoi(env_inputs) : 12;
  std::mt19937_64 rng(env_seed ? std::strtoull(env_seed, nullptr, 10) : 1);
  const fs::path root =
      fs::temp_directory_path() / ("hypercomp_cli_fuzz_" + std::to_string(::getpid()));
  fs::remove_all(root);
  fs::create_directories(root);
  const std::string tiny = (root / "tiny.yaml").string();
  std::ofstream(tiny) << "family: {name: compositional_goals, grid_size: 5, num_mazes: 2}\n"
                      << "policy: {name: hnet_linear, hidden: 8, templates: 4}\n"
                      << "learner: {meta_batch: 4, inner_steps: 1, inner_optimizer: sgd}\n"
                      << "train: {steps: 2, eval_every: 2, checkpoint_every: 2, threads: 1}\n"
                      << "eval: {tasks: 4, identification_tasks: 4, closed_loop_tasks: 2}\n";
  std::ofstream(root / "plan.yaml") << "groups:\n  - {name: g, runs: [" << tiny << "]}\n";
  std::ofstream(root / "junk.yaml") << std::string("\x01\xff{[:\n  - ", 9);
  const std::string finished = (root / "finished").string();
  ASSERT_EQ(run("train " + tiny + " -q --run-dir " + finished).status, 0);

  const auto pick = [&](const std::vector<std::string>& from) { return from[rng() % from.size()]; };
  // Where outputs go: inside the sandbox (or nowhere), never the machine's own directories nor
  // the inputs shared by every case.
  const std::vector<std::string> outputs = {"missing",
                                            "adir",
                                            "adir/",
                                            "''",
                                            "-",
                                            std::string(300, 'a'),
                                            "a/" + std::string(4200, 'b'),
                                            "'a b'",
                                            "../x",
                                            "out.gif",
                                            "out/",
                                            tiny + "/x",
                                            "out/deep/er/"};
  // Inputs: those paths, and existing files and directories of every kind.
  std::vector<std::string> paths = {finished,
                                    finished + "/",
                                    tiny,
                                    (root / "plan.yaml").string(),
                                    (root / "junk.yaml").string(),
                                    finished + "/config.yaml",
                                    finished + "/metrics.jsonl",
                                    "/dev/null",
                                    "/dev/zero",
                                    "/",
                                    "/proc/self/status"};
  paths.insert(paths.end(), outputs.begin(), outputs.end());
  const std::vector<std::string> values = {
      "-1",    "0",   "1",  "2",   "3", "99999999999999999999", "nan", "inf",
      "1e308", "abc", "''", "1.5", "-0"};
  const std::vector<std::string> families = {"compositional_goals",
                                             "compositional_preference",
                                             "point_reach",
                                             "push",
                                             "lander",
                                             "hyperteacher",
                                             "nosuch",
                                             "''"};
  // Overrides that stay small when valid (nothing trains for long).
  const auto override_ = [&] {
    static const std::vector<std::string> keys = {"train.steps=",
                                                  "train.seed=",
                                                  "learner.meta_batch=",
                                                  "eval.tasks=",
                                                  "policy.hidden=",
                                                  "family.grid_size=",
                                                  "learner.inner_steps=",
                                                  "train.threads=",
                                                  "nosuch.key=",
                                                  "train=",
                                                  "policy.name=",
                                                  "family.name=",
                                                  "train.steps.x=",
                                                  "=",
                                                  "x"};
    const std::string k = pick(keys);
    if (k == "train.steps=") return k + pick({"0", "-1", "abc", "1.5", "2", "[]"});
    if (k == "learner.inner_steps=") return k + pick({"-1", "abc", "2", "nan"});
    return k + pick(values);
  };
  const auto command = [&]() -> std::string {
    std::string c;
    switch (rng() % 9) {
      case 0:
        c = "train " + pick(paths);
        for (int i = rng() % 3; i-- > 0;) c += " " + override_();
        if (rng() % 2) c += " --run-dir " + pick(outputs);
        if (rng() % 3 == 0) c += " --print-config";
        return c + " -q";
      case 1:
        c = "train --resume " + pick(paths);
        if (rng() % 4 == 0) c += " " + override_();
        return c + " -q";
      case 2:
        return "eval " + pick(paths) + (rng() % 2 ? " --best" : "");
      case 3:
        c = "compare " + pick(paths) + " -q";
        if (rng() % 2) c += " " + override_();
        if (rng() % 2) c += " --out " + pick(outputs);
        if (rng() % 2) c += " --runs " + pick(outputs);
        if (rng() % 3 == 0) c += " --report " + pick(outputs);
        if (rng() % 4 == 0) c += " --group " + pick({"g", "nosuch"});
        return c;
      case 4:
        c = "probe " + pick(paths) + " -q --subroutine " + pick({"jump", "navigation,x"});
        if (rng() % 2) c += " --config " + pick(paths);
        if (rng() % 2) c += " --out " + pick(outputs);
        if (rng() % 3 == 0) c += " probe.epochs=" + pick(values);
        return c;
      case 5:
        c = "demo " + pick(families);
        if (rng() % 2) c += " --config " + pick(paths);
        if (rng() % 2) c += " --task " + pick(values);
        if (rng() % 2) c += " --seed " + pick(values);
        if (rng() % 2) c += " --split " + pick({"ood", "train", "x"});
        return c + (rng() % 2 ? " --json" : "");
      case 6:
        return "check " + pick(families) + " --tasks " + pick({"1", "2", "0", "-1", "abc"}) +
               (rng() % 2 ? " --config " + pick(paths) : "");
      case 7:
#ifdef HC_TEST_RENDER
        c = "record " + pick({pick(families), pick(paths)}) + " --out " + pick(outputs);
        if (rng() % 2) c += " --frames " + pick({"1", "2", "0", "-1", "abc", "99999999999"});
        return c;
#endif
      default:
        return "envs " + (rng() % 2 ? pick(families) : std::string()) + (rng() % 2 ? " -v" : "");
    }
  };
  // Text that comes from a library, not from hypercomp.
  const std::vector<std::string> raw = {"filesystem error",
                                        "bad_alloc",
                                        "basic_string",
                                        "json.exception",
                                        "stoi",
                                        "stod",
                                        "stoll",
                                        "[enforce fail",
                                        "terminate called",
                                        "what():",
                                        "vector::",
                                        "Aborted"};
  int failures = 0, ok = 0, refused = 0, ran = 0;
  for (int i = 0; i < inputs && failures < 5; ++i, ++ran) {
    const fs::path sandbox = root / ("case" + std::to_string(i));
    fs::create_directories(sandbox / "adir");
    const std::string cmd = command();
    // A hang is caught by the time limit (every command here ends within seconds).
    const auto r = run_in(sandbox.string(), cmd, /*limit_s=*/300);
    std::string problem;
    if (r.status != 0 && r.status != 1 && r.status != 2 && !(r.status >= 100 && r.status < 120))
      problem = "exit status " + std::to_string(r.status);
    for (const auto& text : raw)
      if (r.out.find(text) != std::string::npos) problem += " raw library text '" + text + "'";
    if ((r.status == 1 || r.status == 2) && r.out.find("error: ") == std::string::npos)
      problem += " no error line";
    (r.status == 0 ? ok : refused) += 1;
    if (!problem.empty()) {
      ++failures;
      ADD_FAILURE() << "input " << i << ": hypercomp " << cmd << "\n" << problem << "\n" << r.out;
    }
    fs::remove_all(sandbox);
  }
  RecordProperty("inputs", ran);
  RecordProperty("succeeded", ok);
  RecordProperty("refused", refused);
  std::printf("%d command lines: %d succeeded, %d refused with an error, %d failures\n", ran, ok,
              refused, failures);
  fs::remove_all(root);
}

TEST(Cli, CheckPassesOnEveryGridworld) {
  for (const char* family : {"compositional_goals", "compositional_preference"}) {
    const auto r = run(std::string("check ") + family);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("0 failures"), std::string::npos) << r.out;
  }
}

// Without a terminal the progress display prints a line every tenth of the run; its last line
// shows the final evaluation (exactly the metrics of the "eval @ <last step>" line).
TEST(Cli, LastProgressLineShowsTheFinalEvaluation) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("hypercomp_cli_progress_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const auto r = run("train " HYPERCOMP_SOURCE_DIR "/configs/quick/goals_anil.yaml --run-dir '" +
                     dir.string() +
                     "' train.steps=20 train.eval_every=10 train.threads=1 eval.tasks=16 "
                     "eval.identification_tasks=8 eval.closed_loop_tasks=4");
  fs::remove_all(dir);
  ASSERT_EQ(r.status, 0) << r.out;
  std::istringstream lines(r.out);
  std::string final_eval, last_step;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("eval @ 20: ", 0) == 0) final_eval = line.substr(11);
    if (line.rfind("step ", 0) == 0) last_step = line;
  }
  ASSERT_FALSE(final_eval.empty()) << r.out;
  ASSERT_GE(last_step.size(), final_eval.size()) << r.out;
  EXPECT_EQ(last_step.substr(last_step.size() - final_eval.size()), final_eval) << r.out;
  EXPECT_EQ(last_step.rfind("step 20/20", 0), 0u) << r.out;
}

// `envs <family> --quick-config` writes a config that trains as it is; --policy needs it.
TEST(Cli, QuickConfigOfAFamilyResolves) {
  namespace fs = std::filesystem;
  const fs::path cfg =
      fs::temp_directory_path() / ("hypercomp_cli_quick_" + std::to_string(::getpid()) + ".yaml");
  const auto w = shell(std::string(HYPERCOMP_BIN) + " envs push --quick-config --policy anil > '" +
                       cfg.string() + "'");
  ASSERT_EQ(w.status, 0) << w.out;
  const auto r = run("train '" + cfg.string() + "' --print-config");
  fs::remove(cfg);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("name: push"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("name: anil"), std::string::npos) << r.out;
  EXPECT_NE(run("envs push --policy anil").status, 0);
  EXPECT_NE(run("envs --quick-config").status, 0);
  EXPECT_NE(run("envs push --quick-config --policy maml").status, 0);
}

// A tiny version of the comparison, end to end: every family, every kind of metric, a support
// override, the report, tables and curves; a second call reuses the finished runs.
TEST(Cli, CompareProducesEveryMetricForEveryFamily) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("hypercomp_cli_compare_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string common =
      "train: {steps: 6, seed: 5, eval_every: 3, checkpoint_every: 3, threads: 2}\n"
      "eval: {tasks: 8, identification_tasks: 8, closed_loop_tasks: 4}\n"
      "learner: {meta_batch: 4, inner_steps: 2, inner_optimizer: sgd, inner_lr: 0.3}\n";
  std::ofstream(dir / "goals.yaml")
      << "family: {name: compositional_goals, grid_size: 5, num_mazes: 2, max_steps: 24}\n"
      << "policy: {name: hnet_linear, hidden: 8, templates: 4}\n"
      << common;
  std::ofstream(dir / "goals_anil.yaml")
      << "family: {name: compositional_goals, grid_size: 5, num_mazes: 2, max_steps: 24}\n"
      << "policy: {name: anil, hidden: 8}\n"
      << common;
  std::ofstream(dir / "preference.yaml")
      << "family: {name: compositional_preference, support_demos: 2, query_demos: 2}\n"
      << "policy: {name: learned_init, hidden: 8}\n"
      << common;
  std::ofstream(dir / "teacher.yaml")
      << "family: {name: hyperteacher, num_hidden: 2, support_shots: 16, query_shots: 16,"
      << " support: connected}\n"
      << "policy: {name: hnet_mlp, hidden: 8, templates: 4, generator_hidden: 8,"
      << " generator_layers: 1}\n"
      << common;
  std::ofstream(dir / "theory.yaml")
      << "family: {name: theory, support_shots: 16, query_shots: 16}\n"
      << "policy: {name: hnet_linear, hidden: 8, num_hidden: 1, templates: 4, adapt: input,"
      << " fast_bias: false, normalize_embedding: false, bias: false,"
      << " learn_embedding_init: false}\n"
      << common;
  std::ofstream(dir / "plan.yaml")
      << "title: tiny\ngroups:\n"
      << "  - {name: goals, metric: acc, runs: [" << (dir / "goals.yaml").string() << ", "
      << (dir / "goals_anil.yaml").string() << "]}\n"
      << "  - {name: preference, metric: r2, runs: [" << (dir / "preference.yaml").string()
      << "]}\n"
      << "  - name: teacher\n    runs:\n      - " << (dir / "teacher.yaml").string() << "\n"
      << "      - {config: " << (dir / "teacher.yaml").string()
      << ", label: disconnected, overrides: [family.support=disconnected]}\n"
      << "  - name: theory\n    metric: rel_loss\n"
      << "    headline: [ood/rel_loss, \"mean(id/r2_ood_hot1, id/r2_ood_hot2)\", id/alignment]\n"
      << "    runs:\n      - {config: " << (dir / "theory.yaml").string()
      << ", label: ring, expect: blessed, overrides: [\"family.tasks=0;1;0,1\"]}\n";
  const std::string args = "compare " + (dir / "plan.yaml").string() + " -q --out " +
                           (dir / "out").string() + " --runs " + (dir / "runs").string();
  auto r = run(args);
  ASSERT_EQ(r.status, 0) << r.out;

  std::ifstream md_in(dir / "out" / "results.md");
  const std::string md((std::istreambuf_iterator<char>(md_in)), std::istreambuf_iterator<char>());
  for (const char* s :
       {"## goals", "## preference", "## teacher", "OOD acc", "OOD episode acc", "id R² OOD",
        "id R² at step 0", "id R² OOD, reference CG", "id R² ID ∪ OOD", "id R² shuffled latents",
        "id undefined columns", "OOD acc, best state", "drop from peak OOD", "closed-loop success",
        "OOD R²", "-hot R²", "| disconnected |", "hypercomp train ",
        "; machine: ", "<!-- compare:begin goals -->", "<!-- compare:end teacher -->", "## theory",
        "| ring | blessed |", "id R² 1, 2-hot (mean)", "template alignment",
        // Overrides a shell would split are quoted: the line runs as printed.
        "'family.tasks=0;1;0,1'", "total training time"})
    EXPECT_NE(md.find(s), std::string::npos) << "results.md lacks '" << s << "'\n" << md;

  // The CSV tables carry every final metric of every run.
  const auto header = [&](const std::string& group) {
    std::ifstream in(dir / "out" / (group + ".csv"));
    std::string line;
    std::getline(in, line);
    return line;
  };
  for (const char* key :
       {"test/acc", "ood/acc", "test/acc_episode", "ood/acc_episode", "closed_test/success",
        "closed_ood/success", "closed_ood/expert_success", "id/r2", "test/support_loss_after"})
    EXPECT_NE(header("goals").find(key), std::string::npos) << key;
  for (const char* key : {"test/r2", "ood/r2", "ood_hot4/r2", "ood_hot8/r2", "id/r2"})
    EXPECT_NE(header("preference").find(key), std::string::npos) << key;
  for (const char* key : {"test/acc", "ood/acc", "id/r2", "id/r2_cg", "id/r2_all", "id/r2_shuffled",
                          "id/r2_undefined"})
    EXPECT_NE(header("teacher").find(key), std::string::npos) << key;
#ifdef HC_TEST_RENDER
  for (const char* png :
       {"goals_acc.png", "goals_loss.png", "preference_r2.png", "teacher_identification.png"})
    EXPECT_TRUE(fs::exists(dir / "out" / png)) << png;
#endif

  // Finished runs are reused, not retrained.
  r = run(args);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("finished earlier, reused"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(": training"), std::string::npos) << r.out;

  // One group alone: only its runs are visited, its section is rewritten, the others are kept
  // byte for byte; a group the plan lacks is refused with the plan's groups.
  const auto read = [](const fs::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  const hc::Region goals_region("compare", "goals"), preference_region("compare", "preference");
  const std::string goals_before = goals_region.in(read(dir / "out" / "results.md")).value();
  r = run(args + " --group preference");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("goals /"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[1/1] preference /"), std::string::npos) << r.out;
  const std::string regrouped = read(dir / "out" / "results.md");
  EXPECT_EQ(goals_region.in(regrouped).value(), goals_before);
  EXPECT_NE(preference_region.in(regrouped).value().find("--group preference`"), std::string::npos)
      << regrouped;
  r = run(args + " --group nonesuch");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--group 'nonesuch' is not a group of"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("goals, preference, teacher"), std::string::npos) << r.out;

  // A plan with seeds trains every run once per seed and reports mean ± standard deviation.
  std::ofstream(dir / "seeds.yaml")
      << "title: seeds\nseeds: [5, 6]\ngroups:\n"
      << "  - {name: goals, runs: [" << (dir / "goals.yaml").string() << "]}\n"
      << "  - {name: own, seeds: [7], runs: [" << (dir / "goals.yaml").string() << "]}\n";
  r = run("compare " + (dir / "seeds.yaml").string() + " -q --out " + (dir / "out2").string());
  ASSERT_EQ(r.status, 0) << r.out;
  std::ifstream seeds_in(dir / "out2" / "results.md");
  const std::string seeds_md((std::istreambuf_iterator<char>(seeds_in)),
                             std::istreambuf_iterator<char>());
  EXPECT_NE(seeds_md.find(" ± "), std::string::npos) << seeds_md;
  EXPECT_NE(seeds_md.find("| 5, 6 |"), std::string::npos) << seeds_md;
  for (const char* seed : {"seed5", "seed6"})
    EXPECT_TRUE(fs::exists(dir / "out2" / "runs" / "goals" / "hnet_linear" / seed / "summary.json"))
        << seed;
  // A group's own seeds replace the plan's.
  EXPECT_TRUE(fs::exists(dir / "out2" / "runs" / "own" / "hnet_linear" / "seed7" / "summary.json"));
  EXPECT_FALSE(fs::exists(dir / "out2" / "runs" / "own" / "hnet_linear" / "seed5"));

  // --jobs 2 trains the runs in child processes, two at a time, to the same results byte for
  // byte; the section reports them as before.
  r = run("compare " + (dir / "seeds.yaml").string() + " -q --jobs 2 --out " +
          (dir / "out3").string());
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("(2 running, "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(3 of 3 done)"), std::string::npos) << r.out;
  for (const char* run_dir :
       {"goals/hnet_linear/seed5", "goals/hnet_linear/seed6", "own/hnet_linear/seed7"})
    EXPECT_EQ(read(dir / "out3" / "runs" / run_dir / "metrics.jsonl"),
              read(dir / "out2" / "runs" / run_dir / "metrics.jsonl"))
        << run_dir;
  std::ifstream jobs_in(dir / "out3" / "results.md");
  const std::string jobs_md((std::istreambuf_iterator<char>(jobs_in)),
                            std::istreambuf_iterator<char>());
  EXPECT_NE(jobs_md.find("| 5, 6 |"), std::string::npos) << jobs_md;
  // A run that cannot train (here: unfinished, its checkpoint damaged) is named with its log;
  // the one running beside it still finishes, and the third starts only if that one finished
  // first.
  std::ofstream(dir / "bad.yaml") << "title: bad\nseeds: [6, 5, 7]\ngroups:\n"
                                  << "  - {name: goals, runs: [" << (dir / "goals.yaml").string()
                                  << "]}\n";
  const fs::path damaged = dir / "out4" / "runs" / "goals" / "hnet_linear" / "seed6";
  fs::create_directories(damaged.parent_path());
  fs::copy(dir / "out2" / "runs" / "goals" / "hnet_linear" / "seed6", damaged,
           fs::copy_options::recursive);
  fs::remove(damaged / "summary.json");
  std::ofstream(damaged / "checkpoint.pt", std::ios::trunc) << "not a checkpoint";
  r = run("compare " + (dir / "bad.yaml").string() + " -q --jobs 2 --out " +
          (dir / "out4").string());
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("1 of 3 runs failed"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed 6 ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed6/train.log"), std::string::npos) << r.out;
  EXPECT_TRUE(
      fs::exists(dir / "out4" / "runs" / "goals" / "hnet_linear" / "seed5" / "summary.json"));
  fs::remove_all(dir);
}

// The probe end to end on a tiny run: clear errors first, then the report (written into its
// region of an existing file), the tables and the plot.
TEST(Cli, ProbeReportsAndNamesWhatIsWrong) {
  namespace fs = std::filesystem;
  const fs::path dir =
      fs::temp_directory_path() / ("hypercomp_cli_probe_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string common =
      "train: {steps: 4, seed: 5, eval_every: 4, checkpoint_every: 4, threads: 2}\n"
      "eval: {tasks: 4, identification_tasks: 4, closed_loop_tasks: 2}\n"
      "learner: {meta_batch: 4, inner_steps: 2, inner_optimizer: sgd, inner_lr: 0.3}\n";
  std::ofstream(dir / "goals.yaml")
      << "family: {name: compositional_goals, grid_size: 5, num_mazes: 2, max_steps: 24}\n"
      << "policy: {name: hnet_linear, hidden: 8, templates: 4}\n"
      << common;
  std::ofstream(dir / "point.yaml") << "family: {name: point_reach}\n"
                                    << "policy: {name: anil, hidden: 8}\n"
                                    << common;
  const std::string run_dir = (dir / "run").string();
  ASSERT_EQ(run("train " + (dir / "goals.yaml").string() + " -q --run-dir " + run_dir).status, 0);
  ASSERT_EQ(
      run("train " + (dir / "point.yaml").string() + " -q --run-dir " + (dir / "point").string())
          .status,
      0);

  auto r = run("probe " + (dir / "nothing").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("run directory '" + (dir / "nothing").string() + "' does not exist"),
            std::string::npos)
      << r.out;
  fs::create_directories(dir / "unfinished");
  fs::copy_file(dir / "run" / "config.yaml", dir / "unfinished" / "config.yaml");
  r = run("probe " + (dir / "unfinished").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("is incomplete: no checkpoint.pt"), std::string::npos) << r.out;
  // Given before the run directory, --subroutine takes one name and leaves the directory alone.
  r = run("probe --subroutine jump " + run_dir);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("run '" + run_dir +
                       "': unknown subroutine 'jump' of compositional_goals (known: navigation, "
                       "interaction)"),
            std::string::npos)
      << r.out;
  r = run("probe --control-actions " + run_dir);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--control-actions is a setting of --controls"), std::string::npos) << r.out;
  r = run("probe " + (dir / "point").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("run '" + (dir / "point").string() +
                       "': family 'point_reach' declares no subroutines"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;  // one line, no trace

  const std::string tiny =
      " probe.epochs=3 probe.train_tasks=4 probe.batch=4 probe.select_tasks=4 "
      "probe.test_tasks=4 probe.search.lr=[0.01] probe.search.init=[0.0,-0.05] "
      "probe.random_ablations=2 --seeds 2 -q --out " +
      (dir / "out").string();
  // A hand-written page keeps everything outside its region; one without a region is refused.
  std::ofstream(dir / "page.md") << "intro\n<!-- probe:begin tiny -->\nold\n"
                                 << "<!-- probe:end tiny -->\noutro\n";
  std::ofstream(dir / "plain.md") << "hand-written\n";
  r = run("probe " + run_dir + tiny + " --report " + (dir / "plain.md").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("has no region '<!-- probe:begin results -->'"), std::string::npos) << r.out;
  r = run("probe --subroutine navigation,interaction " + run_dir + tiny + " --report " +
          (dir / "page.md").string() + " --name tiny");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto slurp = [](const fs::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  };
  EXPECT_EQ(slurp(dir / "plain.md"), "hand-written\n");
  const std::string md = slurp(dir / "page.md");
  EXPECT_EQ(md.rfind("intro\n<!-- probe:begin tiny -->\n", 0), 0u) << md;
  EXPECT_NE(md.find("<!-- probe:end tiny -->\noutro\n"), std::string::npos) << md;
  EXPECT_EQ(md.find("\nold\n"), std::string::npos) << md;
  for (const char* s :
       {"## compositional_goals", "### Verdicts", "### Headline", "| navigation |",
        "| interaction |", "| hnet_linear | network | navigation |",
        "| hnet_linear | bank | interaction |", "### Time", "- command: `hypercomp probe"})
    EXPECT_NE(md.find(s), std::string::npos) << "the report lacks '" << s << "'\n" << md;
  // One row per mask: 2 targets x 2 subroutines x 2 seeds; and per search entry: 2 targets x 2
  // subroutines x 2 initial logits x the 3 default layer ranges.
  const std::string csv = slurp(dir / "out" / "compositional_goals.csv");
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 1 + 2 * 2 * 2) << csv;
  const std::string search = slurp(dir / "out" / "compositional_goals_search.csv");
  EXPECT_EQ(std::count(search.begin(), search.end(), '\n'), 1 + 2 * 2 * 2 * 3) << search;
  EXPECT_TRUE(fs::exists(dir / "out" / "probe.yaml"));
#ifdef HC_TEST_RENDER
  EXPECT_TRUE(fs::exists(dir / "out" / "compositional_goals_scores.png"));
#endif

  // --jobs 2 probes the subroutines on two threads, each from its own copy of the run: every
  // mask and search entry is the same as one at a time, only the times (the last columns) differ.
  const std::string tiny2 =
      tiny.substr(0, tiny.rfind("--out")) + "--out " + (dir / "out2").string();
  r = run("probe --subroutine navigation,interaction " + run_dir + tiny2 + " --jobs 2");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto without_times = [&](const fs::path& p, int timed_columns) {
    std::istringstream in(slurp(p));
    std::string kept;
    for (std::string line; std::getline(in, line);) {
      for (int c = 0; c < timed_columns; ++c) line.erase(line.rfind(','));
      kept += line + "\n";
    }
    return kept;
  };
  for (const auto& [file, timed] : {std::pair<const char*, int>{"compositional_goals.csv", 2},
                                    {"compositional_goals_search.csv", 1}}) {
    const std::string one = without_times(dir / "out" / file, timed);
    EXPECT_EQ(without_times(dir / "out2" / file, timed), one) << file;
    EXPECT_GT(std::count(one.begin(), one.end(), '\n'), 8) << one;
  }
  EXPECT_NE(slurp(dir / "out2" / "probe.md").find("--jobs 2"), std::string::npos);

  // A probe in pieces: --max-parts 1 probes one subroutine probe (of 4: 2 targets x 2
  // subroutines), saves it and stops without a report; the same command again reads it back and
  // probes the rest, to the masks of the probe in one go (every value printed exactly); the
  // saved parts go once the report is written.
  const std::string split = "probe --subroutine navigation,interaction " + run_dir +
                            tiny.substr(0, tiny.rfind("--out")) + "--out " +
                            (dir / "out3").string();
  const fs::path parts = dir / "out3" / "parts";
  const auto saved_parts = [&] {
    std::vector<fs::path> files;
    if (fs::exists(parts))
      for (const auto& e : fs::directory_iterator(parts)) files.push_back(e.path());
    return files;
  };
  r = run(split + " --max-parts 1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_FALSE(fs::exists(dir / "out3" / "compositional_goals.csv"));
  const std::vector<fs::path> first = saved_parts();
  ASSERT_EQ(first.size(), 1u);
  const std::string part = slurp(first[0]);
  r = run(split);
  ASSERT_EQ(r.status, 0) << r.out;
  for (const auto& [file, timed] : {std::pair<const char*, int>{"compositional_goals.csv", 2},
                                    {"compositional_goals_search.csv", 1}})
    EXPECT_EQ(without_times(dir / "out3" / file, timed), without_times(dir / "out" / file, timed))
        << file;
  EXPECT_TRUE(saved_parts().empty());
  EXPECT_NE(slurp(dir / "out3" / "probe.md").find("resumed: 1 subroutine probes"),
            std::string::npos);
  // What is read back is the saved part: a value changed in it reaches the table. A part saved
  // with other settings is probed again.
  fs::create_directories(parts);
  const size_t kept = part.find("\"kept\": ");  // the first mask's (keys are sorted)
  ASSERT_NE(kept, std::string::npos) << part;
  std::string changed = part;
  changed.replace(kept, part.find(',', kept) - kept, "\"kept\": 0.123456");
  std::ofstream(first[0]) << changed;
  ASSERT_EQ(run(split).status, 0);
  EXPECT_NE(slurp(dir / "out3" / "compositional_goals.csv").find(",0.123456,"), std::string::npos);
  fs::create_directories(parts);
  std::ofstream(first[0]) << changed;
  const std::string loud =
      split.substr(0, split.find(" -q ")) + split.substr(split.find(" -q ") + 3);
  r = run(loud + " probe.seed=1");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("was saved for another checkpoint or other settings; probing it again"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(slurp(dir / "out3" / "compositional_goals.csv").find(",0.123456,"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
