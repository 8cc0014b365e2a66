// The conformance suite: every registered family, present and future, must pass these checks.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "envs/core/check.h"
#include "families/check.h"
#include "families/registry.h"

namespace hc::families {
using namespace hc::tasks;
using namespace hc::envs;

namespace {

std::vector<std::string> env_family_names() {
  std::vector<std::string> names;
  for (const auto& name : family_names())
    if (envs::as_env_family(*make_family(name))) names.push_back(name);
  return names;
}

class Conformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { family_ = make_family(GetParam()); }
  void expect_ok(const CheckReport& r) {
    EXPECT_GT(r.checked, 0);
    EXPECT_TRUE(r.ok()) << GetParam() << ": " << r.summary();
  }
  std::shared_ptr<TaskFamily> family_;
  CheckOptions options_;
  CheckReport report_;
};

TEST_P(Conformance, SplitsAreDisjointDeterministicAndAsDefined) {
  check_splits(*family_, options_, report_);
  expect_ok(report_);
}

TEST_P(Conformance, DatasetsAreConsistentAndDeterministic) {
  check_datasets(*family_, options_, report_);
  expect_ok(report_);
}

INSTANTIATE_TEST_SUITE_P(AllFamilies, Conformance, ::testing::ValuesIn(family_names()),
                         [](const auto& info) { return info.param; });

class EnvConformance : public Conformance {
 protected:
  const EnvFamily& env_family() const { return *as_env_family(*family_); }
};

TEST_P(EnvConformance, SameSeedGivesBitwiseIdenticalEpisodes) {
  check_determinism(env_family(), options_, report_);
  expect_ok(report_);
}

TEST_P(EnvConformance, ObservationsMatchTheirSpec) {
  check_observations(env_family(), options_, report_);
  expect_ok(report_);
}

TEST_P(EnvConformance, InvalidActionsAndTasksAreRejected) {
  check_invalid_input(env_family(), options_, report_);
  expect_ok(report_);
}

TEST_P(EnvConformance, ExpertDemonstrationsAreOptimalOnEveryTask) {
  check_expert(env_family(), options_, report_);
  expect_ok(report_);
}

INSTANTIATE_TEST_SUITE_P(EnvFamilies, EnvConformance, ::testing::ValuesIn(env_family_names()),
                         [](const auto& info) { return info.param; });

// configs/envs/ holds one file per registered family: a dropped registration line, or a family
// registered without its defaults file, fails here.
TEST(Registry, EveryConfigFileIsARegisteredFamilyAndBack) {
  std::set<std::string> files;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(HYPERCOMP_SOURCE_DIR) + "/configs/envs"))
    if (e.path().extension() == ".yaml") files.insert(e.path().stem().string());
  const std::vector<std::string> names = family_names();
  EXPECT_EQ(files, std::set<std::string>(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size())
      << "a family is registered twice";
}

// configs/envs/<name>.yaml states the registered defaults; they must not drift apart.
TEST(Registry, ConfigFilesStateTheRegisteredDefaults) {
  for (const auto& info : registry()) {
    const std::string path =
        std::string(HYPERCOMP_SOURCE_DIR) + "/configs/envs/" + info.name + ".yaml";
    const YAML::Node file = load_yaml_file(path);
    const auto from_file = make_family(file["family"], path);
    EXPECT_EQ(to_yaml(from_file->config()), to_yaml(info.defaults())) << path;
  }
}

TEST(Registry, UnknownFamilyNamesTheKnownOnes) {
  try {
    make_family("compositional_goal");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("compositional_goals"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hc::families
