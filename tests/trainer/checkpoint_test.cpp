#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/error.h"
#include "base/io.h"
#include "tests/trainer/helpers.h"
#include "trainer/checkpoint.h"
#include "trainer/config.h"

namespace hc::trainer {
namespace {

namespace fs = std::filesystem;

class Checkpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hc_ckpt_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "checkpoint.pt").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string error_loading(agents::PolicyImpl& p) {
    try {
      load_checkpoint(path_, p, nullptr);
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
  std::string path_;
};

TEST_F(Checkpoints, RoundTripRestoresModelOptimizerAndState) {
  agents::Policy a = agents::make_policy(testing::tiny_policy("hnet_linear"), {6, 3, 0}, 1);
  torch::optim::AdamW opt(a->parameters(), torch::optim::AdamWOptions(0.01));
  for (auto& p : a->parameters()) p.mutable_grad() = torch::ones_like(p);
  opt.step();  // gives the optimizer state
  CheckpointState s;
  s.step = 17;
  s.skipped = 2;
  s.best_valid_loss = 0.25;
  s.config = "family: {name: x}";
  save_checkpoint(path_, *a, &opt, s);

  agents::Policy b = agents::make_policy(testing::tiny_policy("hnet_linear"), {6, 3, 0}, 99);
  torch::optim::AdamW opt_b(b->parameters(), torch::optim::AdamWOptions(0.01));
  const CheckpointState r = load_checkpoint(path_, *b, &opt_b);
  EXPECT_EQ(r.step, 17);
  EXPECT_EQ(r.skipped, 2);
  EXPECT_EQ(r.best_valid_loss, 0.25);
  EXPECT_EQ(r.config, s.config);
  for (size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  // Same optimizer state: the next update is identical.
  for (auto* o : {&opt, &opt_b}) {
    for (auto& p : o == &opt ? a->parameters() : b->parameters())
      p.mutable_grad() = torch::full_like(p, 0.5);
    o->step();
  }
  for (size_t i = 0; i < a->parameters().size(); ++i)
    EXPECT_TRUE(torch::equal(a->parameters()[i], b->parameters()[i]));
  EXPECT_FALSE(fs::exists(path_ + ".tmp." + std::to_string(::getpid())));
}

TEST_F(Checkpoints, CorruptTruncatedMissingAndMismatchedAreRefused) {
  agents::Policy a = agents::make_policy(testing::tiny_policy("hnet_linear"), {6, 3, 0}, 1);
  save_checkpoint(path_, *a, nullptr, CheckpointState{});
  std::string bytes = read_file(path_);

  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  atomic_write(path_, flipped);
  EXPECT_NE(error_loading(*a).find("corrupt (checksum mismatch)"), std::string::npos);

  atomic_write(path_, bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(error_loading(*a).find("truncated"), std::string::npos);

  fs::remove(path_);
  EXPECT_NE(error_loading(*a).find("does not exist"), std::string::npos);

  atomic_write(path_, bytes);
  agents::PolicyConfig wider = testing::tiny_policy("hnet_linear");
  wider.hidden = 7;
  agents::Policy b = agents::make_policy(wider, {6, 3, 0}, 1);
  const std::string e = error_loading(*b);
  EXPECT_NE(e.find("does not fit this policy"), std::string::npos) << e;
  agents::Policy c = agents::make_policy(testing::tiny_policy("anil"), {6, 3, 0}, 1);
  EXPECT_NE(error_loading(*c).find("no parameter"), std::string::npos);
}

TEST_F(Checkpoints, ConfigurationsAreComparedAsThisBuildResolvesThem) {
  // A run written by an older build: its stored configuration lacks a key added since (its
  // default keeps the old behaviour), so it is the same run and loads.
  const std::string cfg = (dir_ / "config.yaml").string();
  atomic_write(cfg,
               "family: {name: compositional_goals, grid_size: 5}\n"
               "policy: {name: anil, hidden: 8}\ntrain: {steps: 10}\n");
  const std::string resolved = to_yaml(load_run_config(cfg).to_yaml());
  std::string older, line;
  std::istringstream in(resolved);
  while (std::getline(in, line))
    if (line.find("log_every") == std::string::npos) older += line + "\n";
  ASSERT_NE(older, resolved);
  agents::Policy a = agents::make_policy(testing::tiny_policy("anil"), {6, 3, 0}, 1);
  CheckpointState s;
  s.config = older;
  save_checkpoint(path_, *a, nullptr, s);
  EXPECT_NO_THROW(load_checkpoint(path_, *a, nullptr, cfg, resolved));
  // A different value is another run.
  std::string changed = resolved;
  changed.replace(changed.find("steps: 10"), 9, "steps: 11");
  s.config = changed;
  save_checkpoint(path_, *a, nullptr, s);
  try {
    load_checkpoint(path_, *a, nullptr, cfg, resolved);
    ADD_FAILURE() << "a checkpoint of another configuration was loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("another configuration"), std::string::npos) << e.what();
  }
}

TEST_F(Checkpoints, TruncateLinesKeepsAPrefix) {
  const std::string p = (dir_ / "m.jsonl").string();
  atomic_write(p, "a\nb\nc\n");
  EXPECT_EQ(count_lines(p), 3);
  truncate_lines(p, 2);
  EXPECT_EQ(read_file(p), "a\nb\n");
}

// A generated region is found only between its own markers, in order, and replacing it leaves
// everything around it as it was.
TEST(Region, IsReplacedBetweenItsOwnMarkersOnly) {
  const Region a("compare", "a"), ab("compare", "ab");
  const std::string text = "head\n" + ab.wrap("X") + "\nmid\n" + a.wrap("\nold\n") + "\ntail\n";
  EXPECT_EQ(a.in(text).value(), "\nold\n");
  EXPECT_EQ(ab.in(text).value(), "X");
  EXPECT_EQ(a.replaced(text, "new"),
            "head\n" + ab.wrap("X") + "\nmid\n" + a.wrap("new") + "\ntail\n");
  EXPECT_FALSE(Region("compare", "b").in(text));
  EXPECT_FALSE(a.in(a.end + " " + a.begin));  // markers out of order
  EXPECT_THROW(a.replaced("no markers", "x"), Error);
}

}  // namespace
}  // namespace hc::trainer
