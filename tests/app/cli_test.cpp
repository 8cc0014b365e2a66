// The hypercomp executable, run as a user runs it.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace {

struct Result {
  int status;
  std::string out;
};

Result run(const std::string& args) {
  const std::string cmd = std::string(HYPERCOMP_BIN) + " " + args + " 2>&1";
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe.release());
  return {WEXITSTATUS(status), out};
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
  const auto r = run("demo compositional_goals --task 'quadrant=top_left interaction=1 maze=2 object=4'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("quadrant=top_left interaction=1 maze=2 object=4"), std::string::npos);
}

TEST(Cli, DemoWithAConfigFile) {
  const auto path = std::filesystem::temp_directory_path() / "hypercomp_cli_demo.yaml";
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

TEST(Cli, CheckPassesOnEveryGridworld) {
  for (const char* family : {"compositional_goals", "compositional_preference"}) {
    const auto r = run(std::string("check ") + family);
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("0 failures"), std::string::npos) << r.out;
  }
}

}  // namespace
