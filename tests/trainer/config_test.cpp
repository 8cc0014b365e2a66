// Bad training configurations give one clear error naming the file, key and expected value.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "base/io.h"
#include "trainer/config.h"

namespace hc::trainer {
namespace {

std::string error_of(const std::string& text, const std::vector<std::string>& overrides = {}) {
  // One file per process: ctest runs every test as its own process, in parallel.
  const auto path = std::filesystem::temp_directory_path() /
                    ("hc_train_config_test_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << text;
  std::string message = "no error";
  try {
    load_run_config(path.string(), overrides);
  } catch (const ConfigError& e) {
    message = e.what();
  }
  std::filesystem::remove(path);
  return message;
}

const char* kGood = "family: {name: compositional_goals}\npolicy: {name: hnet_linear}\n";

void expect_has(const std::string& m, const std::string& part) {
  EXPECT_NE(m.find(part), std::string::npos) << "'" << part << "' missing in: " << m;
}

TEST(TrainConfig, DefaultsFillEverythingNotGiven) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("hc_train_config_ok_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(path) << kGood;
  const RunConfig c = load_run_config(path.string(), {"train.steps=5", "learner.inner_steps=2"});
  EXPECT_EQ(c.train.steps, 5);
  EXPECT_EQ(c.learner.inner_steps, 2);
  EXPECT_EQ(c.policy.hidden, 32);
  // The resolved config reads back to the same config.
  const RunConfig again = parse_run_config(c.to_yaml(), "<resolved>");
  EXPECT_EQ(to_yaml(again.to_yaml()), to_yaml(c.to_yaml()));
}

// A run stored by an older build (which did not know a key, here learner.precision) is the same
// run when this build resolves its text to the same configuration; a changed value is not.
TEST(TrainConfig, StoredConfigurationsAreComparedAsThisBuildResolvesThem) {
  const RunConfig c = load_run_config_text("family: {name: compositional_goals}\n", "<test>");
  const std::string resolved = to_yaml(c.to_yaml());
  YAML::Node older = YAML::Load(resolved);
  older["learner"].remove("precision");
  EXPECT_NE(to_yaml(older), resolved);
  EXPECT_TRUE(same_run_config(to_yaml(older), resolved, "<stored>"));
  older["learner"]["inner_lr"] = 0.5;
  EXPECT_FALSE(same_run_config(to_yaml(older), resolved, "<stored>"));
  older = YAML::Load(resolved);
  older["learner"]["no_such_key"] = 1;
  EXPECT_FALSE(same_run_config(to_yaml(older), resolved, "<stored>"));
}

TEST(TrainConfig, BadValuesAreRejectedClearly) {
  expect_has(error_of(std::string(kGood) + "learner: {inner_lr: -1}\n"),
             "learner.inner_lr: expected a value in [1e-08, 1000], got '-1'");
  expect_has(error_of(std::string(kGood) + "learner: {inner_optimizer: lbfgs}\n"),
             "learner.inner_optimizer: expected one of sgd, adam, adamw");
  expect_has(error_of(std::string(kGood) + "train: {steps: many}\n"),
             "train.steps: expected an integer, got 'many'");
  expect_has(error_of(std::string(kGood) + "train: {stepz: 3}\n"),
             "unknown key 'train.stepz', did you mean 'steps'?");
  expect_has(error_of(std::string(kGood) + "trian: {steps: 3}\n"), "unknown key 'trian'");
  expect_has(error_of("policy: {name: hnet_linear}\n"), "missing section 'family'");
  expect_has(error_of("family: {name: compositional_goals}\npolicy: {name: maml}\n"),
             "policy.name: expected one of hnet_linear, hnet_mlp, anil, learned_init");
  expect_has(error_of(kGood, {"policy.hidden=0"}),
             "command-line override 'policy.hidden=0': expected a value in [1, 8192], got '0'");
  expect_has(error_of(kGood, {"family.frac_ood=2"}), "family.frac_ood");
  expect_has(error_of(kGood, {"train.threads=-2"}), "train.threads");
  expect_has(error_of(kGood, {"policy.hiden=3"}), "unknown key 'policy.hiden'");
}

// Every key of a resolved configuration, flattened ("learner.meta_batch"), as emitted YAML.
void flatten(const YAML::Node& node, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  if (!node.IsMap()) {
    out[prefix] = to_yaml(node);
    return;
  }
  for (const auto& kv : node)
    flatten(kv.second, (prefix.empty() ? "" : prefix + ".") + kv.first.as<std::string>(), out);
}

// The list of differences at the top of each quick config (configs/quick/differences.sh) is
// exactly what differs between it and its paper counterpart, both resolved by this build.
TEST(QuickConfigs, StateExactlyHowTheyDifferFromThePaper) {
  namespace fs = std::filesystem;
  const fs::path root(HYPERCOMP_SOURCE_DIR);
  int checked = 0;
  for (const auto& e : fs::directory_iterator(root / "configs/quick")) {
    const std::string name = e.path().filename().string();
    // The paper counterpart has the same name, or the family's full name for the gridworlds.
    std::string paper;
    for (const std::string candidate : {name, "compositional_" + name})
      if (paper.empty() && name.size() > 5 && name.substr(name.size() - 5) == ".yaml" &&
          fs::exists(root / "configs/paper" / candidate))
        paper = candidate;
    if (paper.empty()) continue;
    SCOPED_TRACE(name);
    std::map<std::string, std::string> quick, reference, listed;
    flatten(load_run_config(e.path().string()).to_yaml(), "", quick);
    flatten(load_run_config((root / "configs/paper" / paper).string()).to_yaml(), "", reference);
    std::istringstream text(read_file(e.path().string()));
    bool inside = false;
    for (std::string line; std::getline(text, line);) {
      if (line.rfind("# Differences from configs/paper/" + paper, 0) == 0) inside = true;
      if (!inside || line.rfind("#   ", 0) != 0) continue;
      const size_t colon = line.find(": "), paren = line.rfind(" (paper ");
      ASSERT_NE(colon, std::string::npos) << line;
      ASSERT_NE(paren, std::string::npos) << line;
      const std::string key = line.substr(4, colon - 4);
      listed[key] = to_yaml(YAML::Load(line.substr(colon + 2, paren - colon - 2)));
      EXPECT_EQ(to_yaml(YAML::Load(line.substr(paren + 8, line.size() - paren - 9))),
                reference.count(key) ? reference[key] : "~")
          << key;
    }
    ASSERT_TRUE(inside) << "no list of differences: run configs/quick/differences.sh";
    std::map<std::string, std::string> expected;
    for (const auto& [key, value] : quick)
      if (!reference.count(key) || reference[key] != value) expected[key] = value;
    for (const auto& [key, value] : reference)
      if (!quick.count(key)) expected[key] = "~";
    EXPECT_EQ(listed, expected) << "out of date: run configs/quick/differences.sh";
    ++checked;
  }
  // Every paper config has its quick counterpart.
  int papers = 0;
  for (const auto& e : fs::directory_iterator(root / "configs/paper"))
    papers += e.path().extension() == ".yaml";
  EXPECT_EQ(checked, papers);
  EXPECT_GE(checked, 13);
}

}  // namespace
}  // namespace hc::trainer
