// The registered task families: one line each. A family listed here is automatically covered
// by the conformance tests, the trainer, the evaluation and the CLI.
#include "families/registry.h"
#include "envs/grid/goals.h"
#include "envs/grid/preference.h"
#include "teacher/hyperteacher.h"

namespace hc::families {

const std::vector<FamilyInfo>& registry() {
  static const std::vector<FamilyInfo> families = {
      family_entry<envs::grid::GoalsFamily>("compositional_goals",
                                      "gridworld: reach a goal object in a maze, then interact"),
      family_entry<envs::grid::PreferenceFamily>("compositional_preference",
                                           "gridworld: collect objects under combined preferences"),
      family_entry<teacher::HyperteacherFamily>(
          "hyperteacher", "teacher-student: a modular teacher network generates each task"),
  };
  return families;
}

}  // namespace hc::families
