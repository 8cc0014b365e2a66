// Playback of one task, as `hypercomp watch` and `record` show it: the support demonstrations a
// policy adapts on, then the adapted policy (or the expert) acting on the same task, step by
// step, with what the policy predicted beside what the expert would do. Plain data (scenes,
// numbers, words): show.h turns it into pictures. A trained policy comes in through
// PlaybackPolicy (trainer/playback.h makes one from a run), so a family's expert plays without
// LibTorch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "envs/core/env_family.h"

namespace hc::render {

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

// A trained policy as a playback uses it.
class PlaybackPolicy {
 public:
  // The adapted policy's outputs for one observation, and the action it takes from them.
  struct Prediction {
    std::vector<float> outputs;
    envs::Action action;
  };
  using Adapted = std::function<Prediction(std::span<const float> observation)>;

  virtual ~PlaybackPolicy() = default;
  virtual std::string name() const = 0;
  // The policy adapted to task `id` of `family` on the support demonstrations of data seed
  // `seed` (those the playback shows).
  virtual Adapted adapt(const envs::EnvFamily& family, int64_t id, uint64_t seed) const = 0;
};

struct ShowOptions {
  bool held_out = false;     // draw the task from the OOD split (else from training)
  std::string task;          // a task index or description; "" draws one from the split
  uint64_t seed = 0;         // picks the task (when not given) and every episode
  bool expert_acts = false;  // with a policy: the expert plays the last phase instead of it
};

// The playback of a task of `family` (labelled `label`): its support demonstrations, then the
// expert on a fresh episode, or with `policy` that policy, adapted on those demonstrations.
Show make_show(const envs::EnvFamily& family, const std::string& label, const ShowOptions& o,
               const PlaybackPolicy* policy = nullptr);

}  // namespace hc::render
