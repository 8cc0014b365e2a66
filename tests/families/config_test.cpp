// Bad input: every class of configuration error gives one clear error naming the file, the key
// and what was expected.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "base/config.h"
#include "envs/core/env_family.h"
#include "families/registry.h"

namespace hc::families {
using namespace hc::tasks;
using namespace hc::envs;

namespace {

class ConfigErrors : public ::testing::Test {
 protected:
  // Writes `text` to a file and builds the family of its `family` section; returns the error.
  std::string error_of(const std::string& text) {
    // One file per process: ctest runs every test as its own process, in parallel.
    const auto path = std::filesystem::temp_directory_path() /
                      ("hypercomp_config_test_" + std::to_string(::getpid()) + ".yaml");
    std::ofstream(path) << text;
    path_ = path.string();
    try {
      const YAML::Node root = load_yaml_file(path_);
      make_family(root["family"], path_);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "no ConfigError for:\n" << text;
    return "";
  }
  void expect_mentions(const std::string& message, std::initializer_list<std::string> parts) {
    for (const auto& p : parts)
      EXPECT_NE(message.find(p), std::string::npos) << "'" << p << "' missing in: " << message;
  }
  void TearDown() override {
    if (!path_.empty()) std::filesystem::remove(path_);
  }
  std::string path_;
};

TEST_F(ConfigErrors, MalformedYamlNamesFileAndLine) {
  const auto m = error_of("family:\n  name: compositional_goals\n  grid_size: [1, 2\n");
  expect_mentions(m, {path_, "malformed YAML", ":4:"});
}

TEST_F(ConfigErrors, UnknownKeySuggestsTheNearestKey) {
  const auto m = error_of("family:\n  name: compositional_goals\n  grid_sise: 11\n");
  expect_mentions(m, {path_ + ":3:", "unknown key 'family.grid_sise'", "did you mean 'grid_size'"});
}

TEST_F(ConfigErrors, WrongTypeNamesTheExpectedType) {
  const auto m = error_of("family:\n  name: compositional_goals\n  grid_size: eleven\n");
  expect_mentions(m, {path_ + ":3:", "family.grid_size", "expected an integer", "'eleven'"});
  const auto n = error_of("family:\n  name: compositional_goals\n  grid_size: 11.5\n");
  expect_mentions(n, {"family.grid_size", "expected an integer", "'11.5'"});
  const auto l = error_of("family:\n  name: compositional_preference\n  layout: 7\n");
  expect_mentions(l, {"family.layout", "expected a list of strings"});
}

TEST_F(ConfigErrors, EvenGridSizeIsOutOfRange) {
  const auto m = error_of("family:\n  name: compositional_goals\n  grid_size: 10\n");
  expect_mentions(m, {path_ + ":3:", "family.grid_size", "an odd integer", "'10'"});
}

TEST_F(ConfigErrors, FracOodOutsideTheOpenUnitInterval) {
  for (const char* bad : {"0", "1", "1.5", "-0.1"}) {
    const auto m =
        error_of(std::string("family:\n  name: compositional_goals\n  frac_ood: ") + bad + "\n");
    expect_mentions(m, {"family.frac_ood", "a value in (0, 1)", bad});
  }
}

TEST_F(ConfigErrors, NumHotAboveTheNumberOfModules) {
  const auto m = error_of("family:\n  name: compositional_preference\n  num_hot: 9\n");
  expect_mentions(m, {path_ + ":3:", "family.num_hot", "at most num_preferences (8)", "9"});
}

TEST_F(ConfigErrors, UnknownSupportListsTheChoices) {
  const auto m = error_of("family:\n  name: compositional_goals\n  support: connected\n");
  expect_mentions(m, {"family.support", "one of random, non_compositional", "'connected'"});
}

TEST_F(ConfigErrors, UnknownFamilyName) {
  const auto m = error_of("family:\n  name: gridworld\n");
  expect_mentions(
      m, {path_ + ":2:", "family.name", "unknown task family 'gridworld'", "compositional_goals"});
}

TEST_F(ConfigErrors, SectionThatIsNotAMapping) {
  const auto m = error_of("family: 3\n");
  expect_mentions(m, {path_, "family", "mapping"});
}

TEST_F(ConfigErrors, InvalidLayout) {
  const auto m =
      error_of("family:\n  name: compositional_preference\n  layout: ['###', '#x#', '###']\n");
  expect_mentions(m, {"family.layout", "'#' (wall) and '.' (free)", "'x'"});
}

TEST(ConfigFiles, MissingFileIsNamed) {
  try {
    load_yaml_file("/nonexistent/hypercomp.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/hypercomp.yaml"), std::string::npos);
  }
}

TEST(Overrides, SetNestedKeysAndParseValuesAsYaml) {
  YAML::Node root = YAML::Load("family: {name: compositional_goals}");
  apply_override(root, "family.grid_size=13");
  apply_override(root, "train.steps=100");
  apply_override(root, "family.support=non_compositional");
  EXPECT_EQ(root["family"]["grid_size"].as<int>(), 13);
  EXPECT_EQ(root["train"]["steps"].as<int>(), 100);
  const auto family = make_family(root["family"], "<test>");
  EXPECT_EQ(family->config()["grid_size"].as<int>(), 13);
  EXPECT_EQ(family->split_spec().support, Support::kNonCompositional);
}

TEST(Overrides, MalformedAssignmentsAreRejected) {
  YAML::Node root = YAML::Load("family: {name: compositional_goals}");
  EXPECT_THROW(apply_override(root, "family.grid_size"), ConfigError);
  EXPECT_THROW(apply_override(root, "=3"), ConfigError);
  EXPECT_THROW(apply_override(root, "family..x=3"), ConfigError);
  EXPECT_THROW(apply_override(root, "family.name.x=3"), ConfigError);
  apply_override(root, "family.grid_sise=13");  // caught by the reader, like a typo in a file
  EXPECT_THROW(make_family(root["family"], "<command line>"), ConfigError);
}

}  // namespace
}  // namespace hc::families
