// A saved part of a probe reads back as the part it was, every value exactly (NaN included),
// and only for the key it was saved under.
#include "trainer/probe/parts.h"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <optional>

#include "base/error.h"
#include "base/io.h"

namespace hc::probe {
namespace {

namespace fs = std::filesystem;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Equal, with NaN equal to NaN.
bool same(double a, double b) { return (std::isnan(a) && std::isnan(b)) || a == b; }
bool same(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (!same(a[i], b[i])) return false;
  return true;
}

ModelProbe example() {
  ModelProbe m;
  m.label = "runs/x/seed1";
  m.policy = "hnet_linear";
  m.family = "compositional_goals";
  m.target = MaskTarget::kBank;
  m.units = {{"in_w", {8, 40}, 0}, {"out_w", {8, 12}, 2}};
  m.subroutines = {"navigation", "interaction"};
  m.descriptions = {"reach", "act, \"quoted\""};
  m.chance = {0.1 + 0.2, 1.0 / 3.0};  // neither has a short decimal form
  m.full = {0.9, kNaN};
  m.chance_loss = {std::log(4.0), kNaN};
  m.rows = {4096, 17};
  m.tasks = {256, 3};
  m.seconds = 12.5;
  SubroutineProbe sp;
  sp.index = 1;
  sp.chosen = 0;
  sp.threshold_met = true;
  sp.seconds = 3.25;
  SearchEntry e;
  e.setting = {1e-4, -0.05, "last 2"};
  e.target_accuracy = 2.0 / 7.0;
  e.full_accuracy = 0.5;
  e.ablation_score = -1e-300;
  e.kept = 0.123456789012345678;
  e.removed = 1234567890123;
  e.passes = true;
  e.training.final_loss = 0.7;
  e.training.first_loss = 1.1;
  e.training.first_penalty = 1e-9;
  e.training.steps = 4710;
  e.training.seconds = 8.0;
  sp.search = {e, e};
  MaskResult r;
  r.seed = 18446744073709551615ull;
  r.kept = 0.25;
  r.subnetwork = {0.5, 1.0 / 7.0};
  r.ablated = {-0.0, kNaN};
  r.random_ablated = {{0.1, 0.2}, {0.3, kNaN}};
  r.untrained = true;
  r.untrained_full = {0.01, 0.02};
  r.untrained_subnetwork = {0.03, 0.04};
  r.untrained_ablated = {0.05, 0.06};
  r.untrained_kept = 0.3;
  r.seconds = 1.5;
  sp.masks = {r};
  m.probes = {sp};
  return m;
}

PartKey key() {
  PartKey k;
  k.run = "runs/x/seed1";
  k.checkpoint = "checkpoint.pt";
  k.checkpoint_bytes = 1000;
  k.checkpoint_time = 123456789;
  k.target = "bank";
  k.subroutine = "interaction";
  k.settings = "probe:\n  epochs: 30\n";
  return k;
}

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("hc_parts_test_" + std::to_string(::getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

TEST(ProbeParts, ReadsBackExactlyForItsKeyOnly) {
  const TempDir dir;
  const std::string file = (dir.path / part_file_name(key())).string();
  EXPECT_EQ(part_file_name(key()), "runs_x_seed1.checkpoint.pt.bank.interaction.json");
  EXPECT_FALSE(read_part(file, key()).has_value());  // nothing saved yet
  const ModelProbe m = example();
  atomic_write(file, part_json(key(), m).dump(1));

  const std::optional<ModelProbe> back = read_part(file, key());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->label, m.label);
  EXPECT_EQ(back->target, m.target);
  ASSERT_EQ(back->units.size(), 2u);
  EXPECT_EQ(back->units[1].name, "out_w");
  EXPECT_EQ(back->units[1].shape, (std::vector<int64_t>{8, 12}));
  EXPECT_EQ(back->units[1].stage, 2);
  EXPECT_EQ(back->descriptions, m.descriptions);
  EXPECT_TRUE(same(back->chance, m.chance));
  EXPECT_TRUE(same(back->full, m.full));
  EXPECT_TRUE(same(back->chance_loss, m.chance_loss));
  EXPECT_EQ(back->rows, m.rows);
  EXPECT_EQ(back->seconds, m.seconds);
  ASSERT_EQ(back->probes.size(), 1u);
  const SubroutineProbe& p = back->probes[0];
  EXPECT_EQ(p.index, 1u);
  EXPECT_EQ(p.chosen, 0);
  EXPECT_TRUE(p.threshold_met);
  ASSERT_EQ(p.search.size(), 2u);
  const SearchEntry& e = p.search[1];
  const SearchEntry& f = m.probes[0].search[1];
  EXPECT_EQ(e.setting.lr, f.setting.lr);
  EXPECT_EQ(e.setting.init, f.setting.init);
  EXPECT_EQ(e.setting.layers, f.setting.layers);
  EXPECT_EQ(e.target_accuracy, f.target_accuracy);
  EXPECT_EQ(e.ablation_score, f.ablation_score);
  EXPECT_EQ(e.kept, f.kept);
  EXPECT_EQ(e.removed, f.removed);
  EXPECT_EQ(e.training.first_penalty, f.training.first_penalty);
  EXPECT_EQ(e.training.steps, f.training.steps);
  ASSERT_EQ(p.masks.size(), 1u);
  const MaskResult& r = p.masks[0];
  const MaskResult& s = m.probes[0].masks[0];
  EXPECT_EQ(r.seed, s.seed);
  EXPECT_TRUE(same(r.subnetwork, s.subnetwork));
  EXPECT_TRUE(same(r.ablated, s.ablated));
  EXPECT_TRUE(std::signbit(r.ablated[0]));  // -0.0 stays -0.0
  ASSERT_EQ(r.random_ablated.size(), 2u);
  EXPECT_TRUE(same(r.random_ablated[1], s.random_ablated[1]));
  EXPECT_TRUE(r.untrained);
  EXPECT_TRUE(same(r.untrained_ablated, s.untrained_ablated));
  EXPECT_EQ(r.untrained_kept, s.untrained_kept);

  // Another checkpoint, target or setting: not this part.
  for (const auto& change : std::vector<std::function<void(PartKey&)>>{
           [](PartKey& k) { k.checkpoint_time += 1; }, [](PartKey& k) { k.checkpoint_bytes += 1; },
           [](PartKey& k) { k.checkpoint = "best.pt"; }, [](PartKey& k) { k.target = "network"; },
           [](PartKey& k) { k.settings += "  seed: 1\n"; }}) {
    PartKey other = key();
    change(other);
    EXPECT_FALSE(read_part(file, other).has_value());
  }

  // A file that is not a part is an error naming it.
  std::ofstream(file) << "{\"key\": 3";
  try {
    read_part(file, key());
    ADD_FAILURE() << "a truncated part was read";
  } catch (const Error& err) {
    EXPECT_NE(std::string(err.what()).find(file), std::string::npos) << err.what();
  }
}

}  // namespace
}  // namespace hc::probe
