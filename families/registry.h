// Task families by name. The list itself is explicit, in families/list.cpp: one line per family
// (a static library would silently drop self-registering objects nobody references).
#pragma once

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/config.h"
#include "tasks/task_family.h"

namespace hc::families {

struct FamilyInfo {
  std::string name;
  std::string summary;  // one line for `hypercomp envs`
  // Builds the family from a `family` section (keys not given take the defaults).
  std::function<std::shared_ptr<tasks::TaskFamily>(const YAML::Node& section,
                                                   const std::string& file)>
      make;
  // The defaults as a `family` section, and the documentation of every key.
  std::function<YAML::Node()> defaults;
  std::function<std::vector<ConfigDocs::Entry>()> docs;
};

// Every registered family, in registration order.
const std::vector<FamilyInfo>& registry();
std::vector<std::string> family_names();
// Throws ConfigError naming the unknown family and the known ones.
const FamilyInfo& find_family(const std::string& name);

// Builds a family from a `family` section with a `name` key; `file` is named in errors.
std::shared_ptr<tasks::TaskFamily> make_family(const YAML::Node& section, const std::string& file);
// The registered defaults of a family.
std::shared_ptr<tasks::TaskFamily> make_family(const std::string& name);
// The family of a YAML file's `family` section (or a file that is one), whose name must agree
// with `name` if both are given; the registered defaults of `name` when `config` is "".
std::shared_ptr<tasks::TaskFamily> make_family(const std::string& name, const std::string& config);

// Registry entry for a family class F with its name and summary (F::kName, F::kSummary) and a
// nested `Config` struct (fields() + validate()).
// The `Config` is read from the section, validated, and handed to F's constructor.
template <class F>
FamilyInfo family_entry() {
  const std::string name = F::kName;
  FamilyInfo info;
  info.name = name;
  info.summary = F::kSummary;
  info.make = [](const YAML::Node& section,
                 const std::string& file) -> std::shared_ptr<tasks::TaskFamily> {
    ConfigReader reader(section, file, "family");
    reader.require_map();
    reader.allow("name");
    typename F::Config config;
    config.fields(reader);
    reader.finish();
    config.validate(reader);
    try {
      return std::make_shared<F>(config);
    } catch (const ConfigError& e) {
      // Found while building (a maze that cannot be made, a limit the demonstrations exceed):
      // still an error of this file's family section.
      throw ConfigError(fmt::format("{}: family: {}", file, e.what()));
    }
  };
  info.defaults = [name] {
    YAML::Node section(YAML::NodeType::Map);
    section["name"] = name;
    for (const auto& kv : write_config(typename F::Config{})) section[kv.first] = kv.second;
    return section;
  };
  info.docs = [] {
    ConfigDocs docs;
    typename F::Config config;
    config.fields(docs);
    return docs.entries;
  };
  return info;
}

}  // namespace hc::families
