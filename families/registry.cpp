#include "families/registry.h"

#include <fmt/format.h>

namespace hc::families {

std::vector<std::string> family_names() {
  std::vector<std::string> names;
  for (const auto& f : registry()) names.push_back(f.name);
  return names;
}

const FamilyInfo& find_family(const std::string& name) {
  for (const auto& f : registry())
    if (f.name == name) return f;
  throw ConfigError(fmt::format("unknown task family '{}': expected one of {}", name,
                                fmt::join(family_names(), ", ")));
}

std::shared_ptr<tasks::TaskFamily> make_family(const YAML::Node& section, const std::string& file) {
  if (!section || !section.IsMap())
    throw ConfigError(
        fmt::format("{}: family: expected a mapping with at least a 'name' key", file));
  const YAML::Node name = section["name"];
  if (!name || !name.IsScalar())
    throw ConfigError(fmt::format("{}:{}: family.name: expected one of {}", file,
                                  section.Mark().line + 1, fmt::join(family_names(), ", ")));
  const std::string n = name.Scalar();
  for (const auto& f : registry())
    if (f.name == n) return f.make(section, file);
  throw ConfigError(fmt::format("{}:{}: family.name: unknown task family '{}', expected one of {}",
                                file, name.Mark().line + 1, n, fmt::join(family_names(), ", ")));
}

std::shared_ptr<tasks::TaskFamily> make_family(const std::string& name) {
  const FamilyInfo& f = find_family(name);
  return f.make(f.defaults(), "<defaults of " + name + ">");
}

std::shared_ptr<tasks::TaskFamily> make_family(const std::string& name, const std::string& config) {
  if (config.empty()) return make_family(name);
  YAML::Node root = load_yaml_file(config);
  YAML::Node section = root && root.IsMap() && root["family"] ? root["family"] : root;
  if (!section || !section.IsMap())
    throw ConfigError(fmt::format("{}: expected a mapping with a 'family' section", config));
  if (section["name"] && !section["name"].IsScalar())
    throw ConfigError(fmt::format("{}:{}: family.name: expected one of {}", config,
                                  section["name"].Mark().line + 1,
                                  fmt::join(family_names(), ", ")));
  if (!section["name"]) {
    if (name.empty())
      throw ConfigError(fmt::format("{}: family.name is missing and no family was given", config));
    section["name"] = name;
  } else if (!name.empty() && section["name"].as<std::string>() != name) {
    throw ConfigError(fmt::format("{}:{}: family.name is '{}' but the command names '{}'", config,
                                  section["name"].Mark().line + 1,
                                  section["name"].as<std::string>(), name));
  }
  return make_family(section, config);
}

}  // namespace hc::families
