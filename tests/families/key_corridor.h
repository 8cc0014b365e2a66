// A small discrete family written as a newcomer would, for the checker's own tests: a corridor
// whose agent must pick up a key (by entering its cell) before the goal cell counts. Two planted
// bugs reproduce mistakes new families make; the conformance checks must name each.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "envs/core/env_family.h"

namespace hc::families::testing {

enum class Bug {
  kNone,
  kKeyKeptAcrossReset,  // on_reset does not clear the held key
  kHeldKeyNotObserved,  // the observation draws the key where it was placed, and no held flag
};

constexpr int kCells = 7;
inline const std::vector<int> kKeyCells = {0, 6, 2};
inline const std::vector<int> kGoalCells = {1, 3, 5};
constexpr double kDiscount = 0.9;

class KeyCorridorEnv : public envs::Env {
 public:
  KeyCorridorEnv(const envs::EnvFamily& family, Bug bug) : Env(family, 3 * kCells), bug_(bug) {}

  // agent one-hot, key one-hot (until picked up), goal one-hot, held flag.
  void observe(std::span<float> out) const override {
    std::fill(out.begin(), out.end(), 0.0f);
    out[agent_] = 1.0f;
    const bool hidden_key = bug_ == Bug::kHeldKeyNotObserved;
    if (!held_ || hidden_key) out[kCells + key_] = 1.0f;
    out[2 * kCells + goal_] = 1.0f;
    if (!hidden_key) out[3 * kCells] = held_ ? 1.0f : 0.0f;
  }
  nlohmann::json describe() const override {
    return {{"agent", agent_}, {"key", key_}, {"goal", goal_}, {"held_key", held_}};
  }
  // Steps left to the goal along the shortest path, from `cell` with or without the key.
  int steps_left(int cell, bool held) const {
    return held ? std::abs(cell - goal_) : std::abs(cell - key_) + std::abs(key_ - goal_);
  }
  int agent() const { return agent_; }
  bool held() const { return held_; }
  int key() const { return key_; }

 protected:
  void on_reset(Rng& rng, const envs::Task& task) override {
    key_ = kKeyCells[task.values[0]];
    goal_ = kGoalCells[task.values[1]];
    if (bug_ != Bug::kKeyKeptAcrossReset) held_ = false;
    do {
      agent_ = static_cast<int>(rng.uniform_int(uint64_t{kCells}));
    } while (agent_ == key_ || agent_ == goal_);
  }
  envs::StepResult on_step(const envs::Action& a) override {
    agent_ = std::clamp(agent_ + (a.index == 0 ? -1 : 1), 0, kCells - 1);
    held_ = held_ || agent_ == key_;
    envs::StepResult r;
    if (agent_ == goal_ && held_) {
      r.reward = 1.0f;
      r.terminated = true;
      r.end = envs::EndReason::kSolved;
    }
    return r;
  }

 private:
  Bug bug_;
  int agent_ = 0, key_ = 0, goal_ = 0;
  bool held_ = false;
};

// Q(a) = discount^(steps left after a): the reward 1 is paid on entering the goal with the key.
class KeyCorridorExpert : public envs::Expert {
 public:
  envs::Action act(const envs::Env& env, std::span<float> values) const override {
    const auto& e = envs::env_cast<KeyCorridorEnv>(env, "the key corridor expert");
    float q[2];
    for (int a = 0; a < 2; ++a) {
      const int next = std::clamp(e.agent() + (a == 0 ? -1 : 1), 0, kCells - 1);
      q[a] =
          static_cast<float>(std::pow(kDiscount, e.steps_left(next, e.held() || next == e.key())));
    }
    if (!values.empty()) std::copy(q, q + 2, values.begin());
    return envs::Action::discrete(q[1] > q[0] ? 1 : 0);
  }
  std::optional<double> optimal_value(const envs::Env& env) const override {
    const auto& e = envs::env_cast<KeyCorridorEnv>(env, "the key corridor expert");
    return std::pow(kDiscount, e.steps_left(e.agent(), e.held()) - 1);
  }
};

class KeyCorridorFamily : public envs::EnvFamily {
 public:
  explicit KeyCorridorFamily(Bug bug)
      : EnvFamily("key_corridor",
                  tasks::TaskSpace::categorical(
                      {{"key", {"left_end", "right_end", "near_left"}}, {"goal", {"1", "3", "5"}}}),
                  tasks::SplitSpec{}, 7, /*continuous_weights=*/false, envs::DemoConfig{},
                  observation(), envs::ActionSpec::actions({"left", "right"})),
        bug_(bug) {}
  std::unique_ptr<envs::Env> make_env() const override {
    return std::make_unique<KeyCorridorEnv>(*this, bug_);
  }
  std::unique_ptr<envs::Expert> make_expert() const override {
    return std::make_unique<KeyCorridorExpert>();
  }
  double discount() const override { return kDiscount; }

 protected:
  YAML::Node config_fields() const override { return YAML::Node(YAML::NodeType::Map); }

 private:
  static envs::ObservationSpec observation() {
    std::vector<std::string> names;
    for (const char* part : {"agent", "key", "goal"})
      for (int c = 0; c < kCells; ++c) names.push_back(fmt::format("{}_{}", part, c));
    names.push_back("held_key");
    envs::ObservationSpec spec = envs::ObservationSpec::vector(
        names, std::vector<float>(names.size(), 0.0f), std::vector<float>(names.size(), 1.0f));
    spec.binary = true;
    return spec;
  }
  Bug bug_;
};

}  // namespace hc::families::testing
