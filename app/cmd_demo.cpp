// hypercomp demo: one expert episode of a family, as ASCII frames or JSON.
#include <fmt/format.h>

#include <cmath>

#include "app/commands.h"
#include "base/error.h"
#include "envs/core/env_family.h"
#include "families/registry.h"

namespace hc::app {

namespace {

// Characters of an ASCII picture: one per cell of a small grid world, else a fixed width.
std::pair<int, int> ascii_size(const envs::Scene& scene) {
  const float w = scene.width(), h = scene.height();
  if (!scene.y_up && w == std::round(w) && h == std::round(h) && w >= 1 && h >= 1 && w <= 40 &&
      h <= 40)
    return {static_cast<int>(w), static_cast<int>(h)};
  const int cols = 60;
  return {cols, std::max(4, static_cast<int>(std::lround(cols * h / w / 2)))};
}

}  // namespace

Command add_demo(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "demo", "Print one expert episode of a family as ASCII frames (or JSON with --json)");
  struct Options {
    std::string family, config, task, split = "train";
    uint64_t seed = 0;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("family", o->family, "Registered family name")->required();
  cmd->add_option("--config", o->config, "YAML file with a 'family' section instead of defaults");
  cmd->add_option("--task", o->task,
                  "Task index or description (e.g. 'quadrant=top_left interaction=1 maze=0 "
                  "object=2'); default: drawn from --split");
  cmd->add_option("--seed", o->seed, "Episode seed (also picks the task when --task is absent)")
      ->check(seed_check());
  cmd->add_option("--split", o->split, "Where to draw the task from")
      ->check(CLI::IsMember({"train", "ood"}));
  cmd->add_flag("--json", o->json, "Print the episode as one JSON object");
  return [o]() {
    const auto family = families::make_family(o->family, o->config);
    const envs::EnvFamily& env_family = envs::require_env_family(*family, "demo");
    auto env = env_family.make_env();
    auto expert = env_family.make_expert();
    const auto& space = family->task_space();
    int64_t id;
    if (!o->task.empty()) {
      id = space.find(o->task);
    } else {
      const auto& ids = o->split == "train" ? family->splits().train : family->splits().ood;
      if (ids.empty())
        throw Error(fmt::format("the {} split of '{}' is empty", o->split, family->name()));
      Rng rng(derive_seed(o->seed, {0xde70}));
      id = ids[rng.uniform_int(ids.size())];
    }
    const tasks::Task task = family->instance(space.task(id), o->seed);
    const envs::ActionSpec& act = env->action_spec();
    env->reset(o->seed, task);
    const auto [cols, rows] = ascii_size(env->scene());
    const bool values = family->target_kind() == tasks::TargetKind::kValues;
    std::vector<float> q(values ? act.n : 0);
    const auto picture = [&, cols = cols, rows = rows] {
      const envs::Scene scene = env->scene();
      return envs::to_ascii(scene, cols, rows) +
             (scene.caption.empty() ? "" : scene.caption + "\n");
    };

    nlohmann::json steps = nlohmann::json::array();
    nlohmann::json start = env->describe();
    if (!o->json) {
      fmt::print("{} task {}: {}\n", family->name(), id, space.describe(task));
      if (const auto best = expert->optimal_value(*env))
        fmt::print("expert optimal return {:.4f} (discount {})\n", *best, env_family.discount());
      fmt::print("\nstep 0: start\n{}\n", picture());
    }
    double ret = 0.0, discount = 1.0;
    std::vector<float> obs = env->observation();
    while (!env->done()) {
      const envs::Action a = expert->act(*env, q);
      const auto r = env->step(a);
      ret += discount * r.reward;
      discount *= env_family.discount();
      if (o->json) {
        nlohmann::json s = {{"observation", obs},
                            {"action", act.discrete ? nlohmann::json(a.index)
                                                    : nlohmann::json(std::vector<float>(
                                                          a.vector().begin(), a.vector().end()))},
                            {"action_name", envs::to_string(act, a)},
                            {"reward", r.reward},
                            {"terminated", r.terminated},
                            {"truncated", r.truncated},
                            {"success", r.success},
                            {"end", envs::to_string(r.end)},
                            {"state", env->describe()}};
        if (values) s["action_values"] = q;
        steps.push_back(s);
        obs = env->observation();
      } else {
        std::string qs;
        if (values)
          for (size_t i = 0; i < q.size(); ++i) qs += fmt::format(" {}={:.3f}", act.names[i], q[i]);
        fmt::print("step {}: {}  reward {:g}{}{}\n{}\n", env->elapsed(), envs::to_string(act, a),
                   r.reward,
                   r.done() ? fmt::format("  episode over ({}), task {}", envs::to_string(r.end),
                                          r.success ? "solved" : "not solved")
                            : "",
                   values ? "  values:" + qs : "", picture());
      }
    }
    if (o->json) {
      nlohmann::json out = {{"family", family->name()},
                            {"task",
                             {{"id", id},
                              {"description", space.describe(task)},
                              {"values", task.values},
                              {"weights", task.weights}}},
                            {"latent", space.latent(task)},
                            {"seed", o->seed},
                            {"observation_shape", env->observation_spec().shape},
                            {"observation_names", env->observation_spec().names},
                            {"action_kind", act.discrete ? "discrete" : "box"},
                            {"actions", act.names},
                            {"start", start},
                            {"steps", steps},
                            {"final_observation", obs},
                            {"return", ret},
                            {"success", env->success()},
                            {"end", envs::to_string(env->end_reason())},
                            {"discount", env_family.discount()}};
      fmt::print("{}\n", out.dump());
    } else {
      fmt::print("episode: {} steps, discounted return {:.4f}, {} ({})\n", env->elapsed(), ret,
                 env->success() ? "solved" : "not solved", envs::to_string(env->end_reason()));
    }
    return 0;
  };
}

}  // namespace hc::app
