// The example family of docs/adding-an-environment.md passes every conformance check, and
// registering it takes one line.
#include <gtest/gtest.h>

#include "docs/examples/corridor.h"
#include "families/check.h"
#include "families/registry.h"

namespace hc::envs {
using namespace hc::tasks;
using namespace hc::families;

namespace {

TEST(ExampleFamily, PassesTheConformanceChecks) {
  const example::CorridorFamily family(example::CorridorConfig{});
  const CheckReport r = check_family(family);
  EXPECT_TRUE(r.ok()) << r.summary();
  EXPECT_GT(r.checked, 100);
}

TEST(ExampleFamily, RegistersWithOneEntry) {
  const FamilyInfo info =
      family_entry<example::CorridorFamily>("compositional_corridor", "example");
  const auto family = info.make(YAML::Load("{name: compositional_corridor, length: 5}"), "<test>");
  EXPECT_EQ(family->task_space().size(), 10);
  EXPECT_EQ(family->config()["length"].as<int>(), 5);
}

}  // namespace
}  // namespace hc::envs
