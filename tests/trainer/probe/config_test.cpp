// The probe's settings: the documented file is the defaults, overrides and bad values.
#include "trainer/probe/config.h"

#include <gtest/gtest.h>

#include "base/error.h"

namespace hc::probe {
namespace {

// The defaults are the reference's procedure (its Base.yaml and create_configs.py).
TEST(ProbeConfig, DefaultsAreTheReferences) {
  const ProbeConfig d = load_probe_config("");
  EXPECT_EQ(d.epochs, 90);
  EXPECT_EQ(d.final_temperature, 200.0);
  EXPECT_EQ(d.lambda, 1e-8);
  EXPECT_EQ(d.search.lr, (std::vector<double>{1e-2, 1e-4}));
  EXPECT_EQ(d.search.init, (std::vector<double>{0.1, 0.05, 0.0, -0.05}));
  EXPECT_EQ(d.search.layers, (std::vector<std::string>{"last 1", "last 2", "all"}));
  EXPECT_FALSE(d.fresh_tasks);
  // 157 steps per epoch: the reference's 10,000 training problems in batches of 64.
  EXPECT_EQ((d.train_tasks + d.batch - 1) / d.batch, 157);
  EXPECT_EQ(d.seeds, 3);
  EXPECT_EQ(d.min_models, 3);
  EXPECT_EQ(d.alpha, 0.05);
}

TEST(ProbeConfig, ReadsOverridesAndRejectsBadValues) {
  const ProbeConfig c =
      load_probe_config("", {"probe.epochs=5", "probe.search.init=[0.0]", "probe.score=clamped"});
  EXPECT_EQ(c.epochs, 5);
  EXPECT_EQ(c.search.init, (std::vector<double>{0.0}));
  EXPECT_EQ(c.score, ScoreKind::kClamped);
  EXPECT_THROW(load_probe_config("", {"probe.epoch=5"}), ConfigError);
  EXPECT_THROW(load_probe_config("", {"probe.search.lr=[]"}), ConfigError);
  EXPECT_THROW(load_probe_config("", {"probe.targets=weights"}), ConfigError);
  EXPECT_THROW(load_probe_config("", {"probe.alpha=1"}), ConfigError);
  EXPECT_THROW(load_probe_config("", {"epochs=5"}), ConfigError);
  // The documented file is the defaults.
  EXPECT_EQ(
      to_yaml(probe_config_yaml(load_probe_config(HYPERCOMP_SOURCE_DIR "/configs/probe.yaml"))),
      to_yaml(probe_config_yaml(ProbeConfig{})));
  // What is written reads back the same.
  const YAML::Node written = probe_config_yaml(c);
  ConfigReader reader(written, "<test>", "");
  ProbeConfig back;
  reader("probe", back, "");
  EXPECT_EQ(back.epochs, 5);
  EXPECT_EQ(back.search.init, c.search.init);
  EXPECT_EQ(back.score, c.score);
}

}  // namespace
}  // namespace hc::probe
