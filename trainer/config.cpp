#include "trainer/config.h"

#include <fmt/format.h>

#include <thread>

#include "base/io.h"
#include "base/rng.h"
#include "families/registry.h"

namespace hc::trainer {

RunConfig parse_run_config(const YAML::Node& root, const std::string& file) {
  ConfigReader top(root, file, "");
  top.require_map();
  RunConfig c;
  c.file = file;
  // Sections are visited in order; unknown top-level sections are errors like unknown keys.
  YAML::Node family = root && root.IsMap() ? root["family"] : YAML::Node();
  top.allow("family");
  if (!family)
    throw ConfigError(fmt::format("{}: missing section 'family' (with at least 'name')", file));
  c.family = families::make_family(family, file);
  c.family_section = c.family->config();
  top("policy", c.policy, "the policy");
  top("learner", c.learner, "the learner");
  top("train", c.train, "the training run");
  top("eval", c.eval, "the evaluation");
  top.finish();
  return c;
}

RunConfig load_run_config(const std::string& path, const std::vector<std::string>& overrides) {
  return load_run_config_text(read_input_file(path, "config file"), path, overrides);
}

RunConfig load_run_config_text(const std::string& text, const std::string& path,
                               const std::vector<std::string>& overrides) {
  YAML::Node root = load_yaml_string(text, path);
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& o : overrides) apply_override(root, o);
  try {
    return parse_run_config(root, path);
  } catch (const ConfigError& e) {
    // An error about an overridden key is the command line's, not the file's: that of the last
    // override of the key, the one in effect.
    const std::string what = e.what();
    for (auto it = overrides.rbegin(); it != overrides.rend(); ++it) {
      const std::string& o = *it;
      const std::string key = o.substr(0, o.find('='));
      const auto at = what.find(" " + key + ": ");
      if (at != std::string::npos)
        throw ConfigError(
            fmt::format("command-line override '{}': {}", o, what.substr(at + key.size() + 3)));
      if (what.find("unknown key '" + key + "'") != std::string::npos)
        throw ConfigError(fmt::format("command-line override '{}': {}", o,
                                      what.substr(what.find("unknown key"))));
    }
    throw;
  }
}

YAML::Node RunConfig::to_yaml() const {
  YAML::Node root(YAML::NodeType::Map);
  root["family"] = family_section;
  root["policy"] = write_config(policy);
  root["learner"] = write_config(learner);
  root["train"] = write_config(train);
  root["eval"] = write_config(eval);
  return root;
}

int RunConfig::threads(int local_ranks) const {
  if (train.threads > 0) return train.threads;
  return std::max(1,
                  static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, local_ranks));
}

agents::Policy RunConfig::make_policy() const {
  agents::PolicyDims dims{family->input_dim(), family->output_dim(), 0};
  if (learner.name == LearnerKind::kImitation) dims.latent = family->task_space().latent_dim();
  return agents::make_policy(policy, dims, derive_seed(train.seed, {0x1417}));
}

bool same_run_config(const std::string& stored, const std::string& resolved,
                     const std::string& path) {
  if (stored == resolved) return true;
  try {
    return to_yaml(load_run_config_text(stored, path).to_yaml()) == resolved;
  } catch (const Error&) {
    return false;  // a key this build no longer reads: not the same run
  }
}

}  // namespace hc::trainer
