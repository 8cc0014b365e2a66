// Playback of one task, as `hypercomp watch` and `record` show it: the support demonstrations a
// policy adapts on, then the adapted policy (or the expert) acting on the same task, step by
// step, with what the policy predicted beside what the expert would do. Plain data (scenes,
// numbers, words): render/ turns it into pictures.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "envs/core/env_family.h"
#include "trainer/run.h"

namespace hc::trainer {

// One frame: the world after `step` steps of a phase.
struct ShowStep {
  envs::Scene scene;
  int step = 0;
  std::string action;  // the action that led here ("" at the start of a phase)
  float reward = 0;
  double ret = 0;  // discounted return so far
  bool done = false, success = false;
  std::string end;  // why the episode ended, once it has
  // What the actor in the state before this step predicted (policy phases): probabilities of
  // the discrete actions (softmax of its outputs), predicted action values, or the predicted
  // action vector; `expert` is what the expert does in that same state, in the same units.
  std::vector<float> predicted, expert;
  std::string predicted_kind;           // "probability", "value" or "action" ("" when none)
  int chosen = -1, expert_choice = -1;  // discrete: the actions taken / the expert's
};

struct ShowPhase {
  std::string title;  // "support demonstration 1 of 2", "adapted policy", "expert"
  std::vector<ShowStep> steps;
};

struct Show {
  std::string label;   // the run directory or family shown
  std::string policy;  // "expert" for a family
  std::string family, task;
  bool held_out = false;           // the task's combination was held out of training
  std::vector<std::string> names;  // names of the actions (discrete) or components (box)
  bool discrete = true;            // the family's actions are discrete
  float fps = 8;
  std::vector<ShowPhase> phases;
  int frames() const;  // steps over all phases
};

// What to show: a registered family (the expert) or a trained run (its adapted policy).
class ShowSource {
 public:
  // `what` is a family name or a run directory; `config` (optional) a YAML file with a `family`
  // section for a family. `best` loads best.pt instead of checkpoint.pt.
  ShowSource(const std::string& what, const std::string& config = "", bool best = false);
  const std::string& label() const { return label_; }
  const envs::EnvFamily& family() const { return *env_family_; }
  bool is_run() const { return run_ != nullptr; }
  // The family's resolved config, to check that side-by-side runs show the same tasks.
  std::string family_config() const;

  struct Options {
    bool held_out = false;     // draw the task from the OOD split (else from training)
    std::string task;          // a task index or description; "" draws one from the split
    uint64_t seed = 0;         // picks the task (when not given) and every episode
    bool expert_acts = false;  // runs: the expert plays the last phase instead of the policy
  };
  Show make(const Options& o) const;

 private:
  std::string label_;
  std::shared_ptr<tasks::TaskFamily> family_;  // a family given by name or config
  const envs::EnvFamily* env_family_ = nullptr;
  std::unique_ptr<LoadedRun> run_;
};

}  // namespace hc::trainer
