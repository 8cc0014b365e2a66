#include "families/check.h"

#include "envs/core/check.h"

namespace hc::families {

tasks::CheckReport check_family(const tasks::TaskFamily& f, const tasks::CheckOptions& o) {
  tasks::CheckReport r;
  tasks::check_splits(f, o, r);
  tasks::check_datasets(f, o, r);
  if (const envs::EnvFamily* e = envs::as_env_family(f)) {
    envs::check_determinism(*e, o, r);
    envs::check_observations(*e, o, r);
    envs::check_invalid_input(*e, o, r);
    envs::check_expert(*e, o, r);
    envs::check_reuse(*e, o, r);
    envs::check_observation_sufficiency(*e, o, r);
  }
  return r;
}

}  // namespace hc::families
