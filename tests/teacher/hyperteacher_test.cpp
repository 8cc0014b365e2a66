#include <gtest/gtest.h>

#include "families/registry.h"
#include "teacher/hyperteacher.h"

namespace hc::teacher {
namespace {

// module_m selects exactly the tasks that use module m alone in every generated layer: one task
// per module, whatever the number of generated layers, and every row of it.
TEST(Hyperteacher, SubroutinesAreTheTasksOfOneModuleAlone) {
  for (int num_hidden : {2, 3}) {
    HyperteacherConfig c;
    c.num_hidden = num_hidden;
    c.split.support = tasks::Support::kConnected;
    const HyperteacherFamily family(c);
    const std::vector<tasks::Subroutine> subs = family.subroutines();
    ASSERT_EQ(subs.size(), static_cast<size_t>(c.num_modules));
    const auto& space = family.task_space();
    for (int m = 0; m < c.num_modules; ++m) {
      EXPECT_EQ(subs[m].name, "module_" + std::to_string(m));
      int selected = 0;
      for (int64_t id = 0; id < space.size(); ++id) {
        const tasks::Task& t = space.task(id);
        bool alone = true;
        for (int v : t.values) alone = alone && v == 1 << m;
        EXPECT_EQ(subs[m].uses_task(t), alone) << space.describe(t);
        selected += subs[m].uses_task(t);
      }
      EXPECT_EQ(selected, 1) << "module " << m << ", " << num_hidden - 1 << " generated layers";
    }
    tasks::TaskData d = family.make_task_data(space.task(0), 3);
    EXPECT_EQ(subs[0].select_rows(d.query), d.query.rows);
  }
}

// Connected support trains every single module, so every subroutine has training tasks.
TEST(Hyperteacher, ConnectedSupportTrainsEverySubroutine) {
  HyperteacherConfig c;
  c.num_hidden = 2;
  c.split.support = tasks::Support::kConnected;
  const HyperteacherFamily family(c);
  for (const tasks::Subroutine& s : family.subroutines()) {
    int trained = 0;
    for (int64_t id : family.splits().train) trained += s.uses_task(family.task_space().task(id));
    EXPECT_EQ(trained, 1) << s.name;
  }
}

}  // namespace
}  // namespace hc::teacher
