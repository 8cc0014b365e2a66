#include "tasks/task_family.h"

#include <fmt/format.h>

#include <cmath>

#include "base/error.h"

namespace hc::tasks {

std::string_view to_string(TargetKind k) {
  switch (k) {
    case TargetKind::kLabels:
      return "labels";
    case TargetKind::kSoft:
      return "soft";
    case TargetKind::kValues:
      return "values";
    case TargetKind::kActions:
      return "actions";
    case TargetKind::kRegression:
      return "regression";
  }
  return "?";
}

TaskFamily::TaskFamily(std::string name, TaskSpace space, SplitSpec split, uint64_t seed,
                       bool continuous_weights)
    : name_(std::move(name)),
      space_(std::move(space)),
      split_(split),
      seed_(seed),
      continuous_(continuous_weights) {
  splits_ = space_.split(split_, seed_);
}

YAML::Node TaskFamily::config() const {
  YAML::Node section(YAML::NodeType::Map);
  section["name"] = name_;
  for (const auto& kv : config_fields()) section[kv.first] = kv.second;
  return section;
}

Task TaskFamily::instance(const Task& task, uint64_t seed) const {
  return instance(task, seed, continuous_);
}

Task TaskFamily::instance(const Task& task, uint64_t seed, bool continuous) const {
  space_.validate(task);
  Task t = task;
  if (continuous) {
    // The weights belong to the task instance: support and query share them.
    Rng rng(derive_seed(seed, {0x3e16}));
    space_.draw_weights(t, rng);
  }
  return t;
}

}  // namespace hc::tasks
