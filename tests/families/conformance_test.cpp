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

// A registered family with its defaults, or with another of the values of its `actions` key:
// the action spaces of a family run different code (decoding, expert, targets), so each is
// checked, and a family that gains such a key is covered without a line here.
struct Variant {
  std::string name;
  std::string actions;  // empty: the registered default
  std::string label() const { return actions.empty() ? name : name + "_" + actions; }
  std::shared_ptr<TaskFamily> make() const {
    if (actions.empty()) return make_family(name);
    YAML::Node section = find_family(name).defaults();
    section["actions"] = actions;
    return make_family(section, "<conformance>");
  }
};

void PrintTo(const Variant& v, std::ostream* os) { *os << v.label(); }

std::vector<Variant> variants(bool env_only) {
  std::vector<Variant> out;
  for (const auto& info : registry()) {
    if (env_only && !envs::as_env_family(*make_family(info.name))) continue;
    out.push_back({info.name, ""});
    const YAML::Node actions = info.defaults()["actions"];
    if (!actions) continue;
    for (const char* other : {"continuous", "discrete"})
      if (actions.as<std::string>() != other) out.push_back({info.name, other});
  }
  return out;
}

class Conformance : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override { family_ = GetParam().make(); }
  void expect_ok(const CheckReport& r) {
    EXPECT_GT(r.checked, 0);
    EXPECT_TRUE(r.ok()) << GetParam().label() << ": " << r.summary();
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

INSTANTIATE_TEST_SUITE_P(AllFamilies, Conformance, ::testing::ValuesIn(variants(false)),
                         [](const auto& info) { return info.param.label(); });

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

TEST_P(EnvConformance, UsedEnvironmentReplaysLikeAFreshOne) {
  check_reuse(env_family(), options_, report_);
  expect_ok(report_);
}

TEST_P(EnvConformance, ObservationShowsWhatTheExpertActsOn) {
  check_observation_sufficiency(env_family(), options_, report_);
  expect_ok(report_);
}

INSTANTIATE_TEST_SUITE_P(EnvFamilies, EnvConformance, ::testing::ValuesIn(variants(true)),
                         [](const auto& info) { return info.param.label(); });

// The variants above reach both physics families in both action spaces (a renamed key or value
// would silently drop them).
TEST(Registry, ConformanceCoversEveryActionSpace) {
  std::set<std::string> labels;
  for (const Variant& v : variants(true)) labels.insert(v.label());
  for (const char* label : {"push", "push_discrete", "lander", "lander_discrete"})
    EXPECT_TRUE(labels.count(label)) << label;
}

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
