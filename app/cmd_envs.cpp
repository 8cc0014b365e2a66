// hypercomp envs: the registered task families, their factors and split sizes.
#include <fmt/format.h>

#include "agents/kinds.h"
#include "app/commands.h"
#include "base/config.h"
#include "envs/core/env_family.h"
#include "families/registry.h"

namespace hc::app {
namespace {

std::string factors_line(const tasks::TaskSpace& space) {
  if (space.categorical()) {
    std::string s;
    for (const auto& f : space.factors())
      s += fmt::format("{}{}({})", s.empty() ? "" : " x ", f.name, f.values.size());
    return s;
  }
  return fmt::format("{} group{} of {} {}s, 1..{} active per group", space.groups(),
                     space.groups() > 1 ? "s" : "", space.modules(), space.module_name(),
                     space.max_hot());
}

// A starting quick config for a new family: its registered defaults, a small policy of the given
// kind, and the inner and outer loops that train every registered family within a few hundred
// steps (the suite trains each family with each policy from this, with fewer steps).
std::string quick_config(const families::FamilyInfo& info, const std::string& policy) {
  const auto family = info.make(info.defaults(), "<defaults of " + info.name + ">");
  const bool hnet = policy.rfind("hnet", 0) == 0;
  std::string p = fmt::format("policy:\n  name: {}\n  hidden: 64\n  num_hidden: 2\n", policy);
  if (hnet) p += "  templates: 8\n  normalize_embedding: false\n";
  if (policy == "hnet_mlp") p += "  generator_hidden: 32\n  generator_layers: 2\n";
  return fmt::format(
      "# {name}, quick: a starting configuration written by `hypercomp envs {name} --quick-config "
      "--policy {policy}`.\n"
      "# The family's registered defaults (add keys under `family` to change them; `hypercomp envs "
      "{name} -v`\n"
      "# lists them), a small {policy} policy and a few minutes of training on 2 cores. Raise "
      "train.steps\n"
      "# until the OOD metrics stop improving, and state here how the config differs from the "
      "paper's.\n"
      "family:\n  name: {name}\n{p}"
      "learner:\n  meta_batch: 16\n  inner_optimizer: sgd\n  inner_lr: {lr}\n  inner_steps: 5\n"
      "  inner_grad_clip: 5.0\n  outer_lr: 0.003\n  outer_schedule: cosine\n  grad_clip: 2.0\n"
      "train:\n  steps: 2000\n  seed: 2023\n  eval_every: 250\n  checkpoint_every: 500\n"
      "  threads: 2\n"
      "eval:\n  tasks: 64\n  identification_tasks: 64\n{closed}",
      fmt::arg("name", info.name), fmt::arg("policy", policy), fmt::arg("p", p),
      // Gradient steps on a hypernetwork's embedding need a larger rate than on weights.
      fmt::arg("lr", hnet ? "1.0" : "0.1"),
      fmt::arg("closed", envs::as_env_family(*family) ? "  closed_loop_tasks: 16\n"
                                                      : "  closed_loop: false\n"));
}

std::string shape(const std::vector<int>& dims) {
  std::string s;
  for (int d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

}  // namespace

Command add_envs(CLI::App& app) {
  auto* cmd = app.add_subcommand("envs", "List the registered task families");
  auto verbose = std::make_shared<bool>(false);
  auto yaml = std::make_shared<bool>(false);
  auto name = std::make_shared<std::string>();
  auto quick = std::make_shared<bool>(false);
  auto policy = std::make_shared<std::string>("hnet_linear");
  cmd->add_option("family", *name, "Show only this family");
  auto* quick_flag =
      cmd->add_flag("--quick-config", *quick,
                    "Print a starting quick config for the family (its defaults, a small policy, a "
                    "short run), for configs/quick/<short name>_<policy>.yaml");
  std::vector<std::string> policies;
  for (const auto& [kind, n] : EnumNames<agents::PolicyKind>::values) policies.push_back(n);
  cmd->add_option("--policy", *policy, "Policy of --quick-config")
      ->capture_default_str()
      ->check(CLI::IsMember(policies))
      ->needs(quick_flag);
  cmd->add_flag("-v,--verbose", *verbose, "Also list every config key with its default");
  cmd->add_flag("--yaml", *yaml,
                "Print the default 'family' section of each family as a commented YAML file");
  return [=]() {
    if (!name->empty()) families::find_family(*name);  // unknown names are an error
    if (*quick) {
      if (name->empty())
        throw Error("envs --quick-config: name the family, e.g. envs push --quick-config");
      fmt::print("{}", quick_config(families::find_family(*name), *policy));
      return 0;
    }
    for (const auto& info : families::registry()) {
      if (!name->empty() && info.name != *name) continue;
      if (*yaml) {
        fmt::print("# {}: {}\n# Registered defaults; `hypercomp envs {} -v` documents every key.\n",
                   info.name, info.summary, info.name);
        fmt::print("family:\n  name: {}\n", info.name);
        for (const auto& e : info.docs()) {
          std::string value = e.value;
          fmt::print("  {}: {}  # {}\n", e.key, value, e.doc);
        }
        continue;
      }
      const auto family = info.make(info.defaults(), "<defaults of " + info.name + ">");
      const auto& space = family->task_space();
      const auto& splits = family->splits();
      fmt::print("{}: {}\n", info.name, info.summary);
      fmt::print("  tasks        {} = {} tasks\n", factors_line(space), space.size());
      fmt::print("  data         input {}, output {} ({})", family->input_dim(),
                 family->output_dim(), tasks::to_string(family->target_kind()));
      if (const auto* env_family = envs::as_env_family(*family)) {
        const auto env = env_family->make_env();
        const auto& obs = env->observation_spec();
        const auto& act = env->action_spec();
        fmt::print("; observation {}{}, actions: {}", shape(obs.shape),
                   obs.binary ? " (one-hot)" : "", fmt::join(act.names, " "));
      }
      fmt::print("\n");
      std::string ood_hot;
      for (const auto& [h, ids] : splits.ood_by_hotness)
        ood_hot += fmt::format("{}{}-hot {}", ood_hot.empty() ? "" : ", ", h, ids.size());
      const auto& spec = family->split_spec();
      fmt::print(
          "  split        support {}{}: {} train, {} OOD{}\n", tasks::to_string(spec.support),
          spec.support == tasks::Support::kRandom ? fmt::format(" (frac_ood {})", spec.frac_ood)
                                                  : "",
          splits.train.size(), splits.ood.size(),
          ood_hot.empty() ? "" : "; OOD by hotness: " + ood_hot);
      std::string other;  // none where the support is a list of tasks (the family's only one)
      for (const auto& [sup, s] : EnumNames<tasks::Support>::values) {
        if (spec.support == tasks::Support::kListed) break;
        if (sup == spec.support || !space.supports(sup) || sup == tasks::Support::kListed) continue;
        tasks::SplitSpec alt = spec;
        alt.support = sup;
        try {
          const auto sp = space.split(alt, family->seed());
          other += fmt::format("{}{} {}/{}", other.empty() ? "" : ", ", s, sp.train.size(),
                               sp.ood.size());
        } catch (const Error&) {
        }
      }
      if (!other.empty()) fmt::print("  other splits {} (train/OOD)\n", other);
      if (*verbose) {
        fmt::print("  config keys (family section):\n");
        for (const auto& e : info.docs())
          fmt::print("    {:<18} {:<14} {}{}\n", e.key, e.value, e.doc,
                     e.expected.empty() ? "" : " [" + e.expected + "]");
      }
      fmt::print("\n");
    }
    return 0;
  };
}

}  // namespace hc::app
