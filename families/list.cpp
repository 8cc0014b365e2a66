// The registered task families: one line each. A family listed here is automatically covered
// by the conformance tests, the trainer, the evaluation and the CLI.
#include "envs/grid/goals.h"
#include "envs/grid/preference.h"
#include "envs/physics/lander.h"
#include "envs/physics/push.h"
#include "envs/point/point_reach.h"
#include "families/registry.h"
#include "teacher/hyperteacher.h"
#include "teacher/theory.h"

namespace hc::families {

const std::vector<FamilyInfo>& registry() {
  static const std::vector<FamilyInfo> families = {
      family_entry<envs::grid::GoalsFamily>(),       family_entry<envs::grid::PreferenceFamily>(),
      family_entry<envs::point::PointReachFamily>(), family_entry<envs::physics::PushFamily>(),
      family_entry<envs::physics::LanderFamily>(),   family_entry<teacher::HyperteacherFamily>(),
      family_entry<teacher::TheoryFamily>(),
  };
  return families;
}

}  // namespace hc::families
