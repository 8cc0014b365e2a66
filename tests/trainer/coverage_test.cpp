// Coverage driven by the registry: every registered family trains with every policy, and every
// family has a quick config that resolves. A family added to families/list.cpp is covered here
// without a line of test code.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "base/io.h"
#include "envs/core/env_family.h"
#include "families/registry.h"
#include "tests/trainer/helpers.h"
#include "tests/trainer/process.h"
#include "trainer/config.h"

namespace hc::trainer {
namespace {

namespace fs = std::filesystem;

struct Cell {
  std::string family, policy;
};

void PrintTo(const Cell& c, std::ostream* os) { *os << c.family << "_" << c.policy; }

std::vector<Cell> cells() {
  std::vector<Cell> out;
  for (const std::string& family : families::family_names())
    for (const std::string& policy : testing::policy_names()) out.push_back({family, policy});
  return out;
}

class RegistryRuns : public ::testing::TestWithParam<Cell> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           fmt::format("hc_coverage_{}_{}_{}", GetParam().family, GetParam().policy, ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// The starting quick config `hypercomp envs <family> --quick-config` writes, shortened to 150
// steps at a constant outer rate: the OOD loss (cross-entropy, or squared error of actions or
// outputs) falls by a tenth.
TEST_P(RegistryRuns, TrainsAndLowersTheOodLoss) {
  const Cell& c = GetParam();
  const std::string cfg = (dir_ / "quick.yaml").string(), log = (dir_ / "train.log").string();
  ASSERT_EQ(run({"envs", c.family, "--quick-config", "--policy", c.policy}, {}, cfg), 0)
      << read_file(cfg);
  ASSERT_EQ(run({"train", cfg, "--run-dir", (dir_ / "run").string(), "-q", "train.steps=150",
                 "train.eval_every=150", "train.checkpoint_every=150", "train.threads=1",
                 // The full outer rate throughout: a cosine decay over so short a run would
                 // halve its mean.
                 "learner.outer_schedule=constant", "eval.tasks=32", "eval.identification_tasks=32",
                 "eval.closed_loop_tasks=4"},
                {}, log),
            0)
      << read_file(log);
  std::ifstream in(dir_ / "run/metrics.jsonl");
  std::vector<double> ood;
  nlohmann::json last;
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["kind"] == "eval") ood.push_back(j["ood/loss"].get<double>()), last = j;
  }
  ASSERT_EQ(ood.size(), 2u);
  std::cout << c.family << " " << c.policy << ": OOD loss " << ood[0] << " -> " << ood[1] << " ("
            << ood[1] / ood[0] << "x)\n";
  EXPECT_LT(ood[1], 0.9 * ood[0]) << "OOD loss " << ood[0] << " -> " << ood[1];
  // Every kind of metric the family's targets and environment call for is there.
  const auto family = families::make_family(c.family);
  std::vector<std::string> keys = {"ood/loss", "test/loss"};
  if (family->target_kind() == tasks::TargetKind::kActions)
    keys.insert(keys.end(), {"ood/r2", "ood/acc"});
  if (envs::as_env_family(*family))
    keys.insert(keys.end(), {"closed_ood/success", "closed_ood/expert_success"});
  for (const std::string& key : keys) EXPECT_TRUE(last.contains(key)) << key;
}

INSTANTIATE_TEST_SUITE_P(Coverage, RegistryRuns, ::testing::ValuesIn(cells()),
                         [](const auto& info) {
                           return info.param.family + "_" + info.param.policy;
                         });

// Every registered family has a quick config in configs/quick/, and every quick config resolves
// (its family built, every key validated) with this build.
TEST(QuickConfigs, EveryFamilyHasOneThatResolves) {
  std::set<std::string> covered;
  for (const auto& e : fs::directory_iterator(fs::path(HYPERCOMP_SOURCE_DIR) / "configs/quick")) {
    if (e.path().extension() != ".yaml" || e.path().filename() == "plan.yaml") continue;
    SCOPED_TRACE(e.path().string());
    try {
      const RunConfig config = load_run_config(e.path().string());
      ASSERT_TRUE(config.family);
      covered.insert(config.family->name());
      EXPECT_TRUE(config.make_policy());
    } catch (const Error& err) {
      ADD_FAILURE() << err.what();
    }
  }
  for (const std::string& family : families::family_names())
    EXPECT_TRUE(covered.count(family))
        << family << " has no quick config: write a starting one with `hypercomp envs " << family
        << " --quick-config --policy hnet_linear > configs/quick/<short name>_hnet_linear.yaml`";
}

}  // namespace
}  // namespace hc::trainer
