// hypercomp watch and record, run as a user runs them: record needs no display at all; watch
// runs in a window under Xvfb (from the project's set-up) for a fixed number of frames.
#include <gif_lib.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace {

namespace fs = std::filesystem;

struct Result {
  int status;
  std::string out;
};

// Runs a shell command line (with the binary substituted for `hypercomp`), output captured.
Result sh(const std::string& cmd) {
  std::string line = cmd;
  const std::string bin = HYPERCOMP_BIN;
  for (size_t at = line.find("hypercomp "); at != std::string::npos;
       at = line.find("hypercomp ", at + bin.size()))
    line.replace(at, 9, bin);
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((line + " 2>&1").c_str(), "r"), pclose);
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe.get())) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe.release());
  return {WEXITSTATUS(status), out};
}

class Viewer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hc_viewer_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // A tiny trained run of `policy` on small mazes.
  std::string train(const std::string& name, const std::string& policy,
                    const std::string& family =
                        "{name: compositional_goals, grid_size: 5, "
                        "num_mazes: 2, max_steps: 24}") {
    std::ofstream(path(name + ".yaml"))
        << "family: " << family << "\npolicy: {name: " << policy << ", hidden: 8}\n"
        << "learner: {meta_batch: 4, inner_steps: 2, inner_optimizer: sgd, inner_lr: 0.3}\n"
        << "train: {steps: 4, eval_every: 4, checkpoint_every: 4}\n"
        << "eval: {tasks: 4, identification_tasks: 4, closed_loop_tasks: 2}\n";
    const auto r = sh("hypercomp train " + path(name + ".yaml") + " -q --run-dir " + path(name));
    EXPECT_EQ(r.status, 0) << r.out;
    return path(name);
  }
  fs::path dir_;
};

struct GifInfo {
  int width = 0, height = 0, frames = 0;
};

GifInfo read_gif(const std::string& path) {
  int error = 0;
  GifFileType* gif = DGifOpenFileName(path.c_str(), &error);
  if (!gif) return {};
  GifInfo info;
  if (DGifSlurp(gif) == GIF_OK) info = {gif->SWidth, gif->SHeight, gif->ImageCount};
  DGifCloseFile(gif, &error);
  return info;
}

// No X server and no Xvfb: DISPLAY unset.
TEST_F(Viewer, RecordWritesAGifWithoutADisplay) {
  const auto r =
      sh("umask 022; env -u DISPLAY hypercomp record compositional_goals --split ood --seed 3 "
         "--frames 12 --out " +
         path("goals.gif"));
  ASSERT_EQ(r.status, 0) << r.out;
  // An output for others to see: the umask decides, not the GIF library.
  EXPECT_EQ(fs::status(path("goals.gif")).permissions() & fs::perms::others_read,
            fs::perms::others_read);
  const GifInfo g = read_gif(path("goals.gif"));
  EXPECT_EQ(g.frames, 12);
  EXPECT_EQ(g.width, 560);
  EXPECT_EQ(g.height, 620);
  // PNG frames into a directory, for a continuous-action family.
  const auto p =
      sh("env -u DISPLAY hypercomp record point_reach --frames 3 --out " + path("frames/"));
  ASSERT_EQ(p.status, 0) << p.out;
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(fs::exists(path("frames/frame_0000" + std::to_string(i) + ".png"))) << i;
  EXPECT_FALSE(fs::exists(path("frames/frame_00003.png")));
}

// A trained run: the support demonstrations, then the adapted policy; two runs side by side.
TEST_F(Viewer, RecordsTrainedRunsSideBySide) {
  const std::string a = train("linear", "hnet_linear"), b = train("anil", "anil");
  const auto r = sh("env -u DISPLAY hypercomp record " + a + " " + b + " --split ood --out " +
                    path("side.gif"));
  ASSERT_EQ(r.status, 0) << r.out;
  const GifInfo g = read_gif(path("side.gif"));
  EXPECT_EQ(g.width, 2 * 560);
  EXPECT_GT(g.frames, 4);  // a demonstration and an episode, each several steps
}

TEST_F(Viewer, WatchPlaysFramesInAWindowAndExits) {
  if (std::system("command -v xvfb-run > /dev/null") != 0)
    FAIL() << "xvfb-run is missing: run ./run.sh test, which installs it";
  const std::string a = train("linear", "hnet_linear");
  auto r = sh("xvfb-run -a hypercomp watch compositional_goals --frames 20");
  EXPECT_EQ(r.status, 0) << r.out;
  r = sh("xvfb-run -a hypercomp watch " + a + " " + a + " --split ood --frames 20");
  EXPECT_EQ(r.status, 0) << r.out;
}

TEST_F(Viewer, ErrorsSayWhatIsWrong) {
  auto r = sh("env -u DISPLAY hypercomp watch compositional_goals --frames 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("DISPLAY is not set"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hypercomp record"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("xvfb-run"), std::string::npos) << r.out;

  r = sh("hypercomp record nowhere --out " + path("x.gif"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("'nowhere' is neither a registered family"), std::string::npos) << r.out;

  fs::create_directories(path("empty"));
  r = sh("hypercomp record " + path("empty") + " --out " + path("x.gif"));
  EXPECT_NE(r.out.find("is not a run directory (no config.yaml)"), std::string::npos) << r.out;

  // A run stopped before its first checkpoint (one whose checkpoint was lost is refused as such:
  // tests/trainer/damage_test.cpp).
  const std::string run = train("linear", "hnet_linear");
  fs::copy(run, path("started"), fs::copy_options::recursive);
  for (const char* f : {"checkpoint.pt", "summary.json", "metrics.jsonl", "train.csv", "eval.csv"})
    fs::remove(path("started/") + f);
  r = sh("hypercomp record " + path("started") + " --out " + path("x.gif"));
  EXPECT_NE(r.out.find("is incomplete: no checkpoint.pt"), std::string::npos) << r.out;

  // A checkpoint of another configuration.
  const std::string other = train("other", "anil");
  fs::copy_file(other + "/checkpoint.pt", path("started/checkpoint.pt"));
  r = sh("hypercomp record " + path("started") + " --out " + path("x.gif"));
  EXPECT_NE(r.out.find("another configuration"), std::string::npos) << r.out;

  r = sh("hypercomp record compositional_goals --task 'quadrant=middle' --out " + path("x.gif"));
  EXPECT_NE(r.out.find("task 'quadrant=middle'"), std::string::npos) << r.out;

  r = sh("hypercomp record hyperteacher --out " + path("x.gif"));
  EXPECT_NE(r.out.find("has none (its tasks are supervised datasets)"), std::string::npos) << r.out;

  const std::string preference =
      train("pref", "anil", "{name: compositional_preference, support_demos: 1, query_demos: 1}");
  r = sh("hypercomp record " + run + " " + preference + " --out " + path("x.gif"));
  EXPECT_NE(r.out.find("different family configurations"), std::string::npos) << r.out;

  r = sh("hypercomp record compositional_goals --out " + path("x.txt"));
  EXPECT_NE(r.out.find("expected a file name ending in .gif"), std::string::npos) << r.out;
}

// PNG frames go into a directory of their own: never into one holding other files (such as /);
// one holding only the frames of an earlier record takes new ones.
TEST_F(Viewer, RecordWritesFramesOnlyIntoADirectoryOfTheirOwn) {
  fs::create_directories(path("mixed"));
  std::ofstream(path("mixed/notes.txt")) << "a user's file\n";
  auto r = sh("hypercomp record compositional_goals --frames 1 --out " + path("mixed/"));
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(
      r.out.find("--out '" + path("mixed/") + "': the directory holds other files ('notes.txt')"),
      std::string::npos)
      << r.out;
  EXPECT_FALSE(fs::exists(path("mixed/frame_00000.png")));
  r = sh("hypercomp record compositional_goals --frames 2 --out " + path("frames/"));
  ASSERT_EQ(r.status, 0) << r.out;
  r = sh("hypercomp record compositional_goals --frames 1 --out " + path("frames"));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(fs::exists(path("frames/frame_00001.png")));
}

}  // namespace
