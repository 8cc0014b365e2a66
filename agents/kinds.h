// The policies and adaptation choices by name, without LibTorch: the commands that only list or
// write configs (hypercomp envs) read them too.
#pragma once

#include "base/config.h"

namespace hc::agents {

enum class PolicyKind { kHnetLinear, kHnetMlp, kAnil, kLearnedInit };
// Which embedding rows of a hypernetwork the inner loop adapts.
enum class AdaptRows { kAll, kHidden, kInput };

}  // namespace hc::agents

template <>
struct hc::EnumNames<hc::agents::PolicyKind> {
  using K = hc::agents::PolicyKind;
  static constexpr std::pair<K, const char*> values[] = {{K::kHnetLinear, "hnet_linear"},
                                                         {K::kHnetMlp, "hnet_mlp"},
                                                         {K::kAnil, "anil"},
                                                         {K::kLearnedInit, "learned_init"}};
};
template <>
struct hc::EnumNames<hc::agents::AdaptRows> {
  using A = hc::agents::AdaptRows;
  static constexpr std::pair<A, const char*> values[] = {
      {A::kAll, "all"}, {A::kHidden, "hidden"}, {A::kInput, "input"}};
};
