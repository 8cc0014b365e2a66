#include "trainer/probe/config.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/error.h"

namespace hc::probe {

Check<std::vector<double>> each_in_range(double lo, double hi) {
  return {[=](const std::vector<double>& xs) {
            return !xs.empty() &&
                   std::all_of(xs.begin(), xs.end(), [&](double x) { return x >= lo && x <= hi; });
          },
          fmt::format("a non-empty list of values in [{}, {}]", lo, hi)};
}

ProbeConfig load_probe_config(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root = path.empty() ? YAML::Node(YAML::NodeType::Map) : load_yaml_file(path);
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& o : overrides) {
    if (o.rfind("probe.", 0) != 0)
      throw ConfigError(fmt::format(
          "<command line>: override '{}': probe settings are given as probe.key=value", o));
    apply_override(root, o);
  }
  ConfigReader top(root, path.empty() ? "<command line>" : path, "");
  top.require_map();
  ProbeConfig c;
  top("probe", c, "the probe");
  top.finish();
  return c;
}

YAML::Node probe_config_yaml(const ProbeConfig& c) {
  YAML::Node root(YAML::NodeType::Map);
  root["probe"] = write_config(c);
  return root;
}

}  // namespace hc::probe
