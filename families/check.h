// The conformance checks of any family: its splits and datasets and, for environment families,
// the environment and its expert. The test suite runs them over the whole registry.
#pragma once

#include "tasks/check.h"

namespace hc::families {

tasks::CheckReport check_family(const tasks::TaskFamily& family,
                                const tasks::CheckOptions& o = {});

}  // namespace hc::families
