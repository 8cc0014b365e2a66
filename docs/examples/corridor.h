// compositional_corridor: the example family of docs/adding-an-environment.md.
//
// Description   A corridor of `length` cells. The agent must walk to a hidden target cell and
//               finish there with the task's hidden action.
// Factors       target cell (length) x finishing action (2: press, wave).
// Observation   length floats: one-hot position of the agent.
// Actions       left, right, press, wave. Walking off either end leaves the agent in place.
// Reward        1 for the task's finishing action on the target cell, else 0.
// Termination   on that reward; truncated after 4 * length steps.
// Expert        walk straight to the target, then finish.
// Splits        random or non_compositional.
#pragma once

#include "base/config.h"
#include "envs/core/env_family.h"

namespace hc::envs::example {

struct CorridorConfig {
  uint64_t seed = 1;
  int length = 7;
  std::string support = "random";
  double frac_ood = 0.25;
  int support_demos = 1;
  int query_demos = 1;

  template <class V>
  void fields(V& v) {
    v("seed", seed, "seed of the task split");
    v("length", length, "cells in the corridor", in_range(2, 64));
    v("support", support, "task support of the split", one_of({"random", "non_compositional"}));
    v("frac_ood", frac_ood, "random support: fraction of tasks held out", in_open_range(0.0, 1.0));
    v("support_demos", support_demos, "demonstrations per support set", in_range(1, 64));
    v("query_demos", query_demos, "demonstrations per query set", in_range(1, 64));
  }
  void validate(const ConfigReader&) const {}
};

class CorridorEnv : public Env {
 public:
  CorridorEnv(const TaskSpace& space, const ObservationSpec& obs, const ActionSpec& act,
              int length);
  void observe(std::span<float> out) const override;
  Scene scene() const override;
  nlohmann::json describe() const override;
  int agent() const { return agent_; }

 protected:
  void on_reset(Rng& rng, const Task& task) override;
  StepResult on_step(const Action& a) override;

 private:
  int length_, agent_ = 0;
};

class CorridorExpert : public Expert {
 public:
  int act(const Env& env, std::span<float> values) const override;
  double optimal_value(const Env& env) const override;
};

class CorridorFamily : public EnvFamily {
 public:
  using Config = CorridorConfig;
  explicit CorridorFamily(const Config& config);
  TargetKind target_kind() const override { return TargetKind::kLabels; }
  double discount() const override { return 0.9; }
  std::unique_ptr<Env> make_env() const override;
  std::unique_ptr<Expert> make_expert() const override;

 protected:
  YAML::Node config_fields() const override { return write_config(config_); }

 private:
  Config config_;
};

}  // namespace hc::envs::example
