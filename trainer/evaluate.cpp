#include "trainer/evaluate.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "envs/core/env_family.h"

namespace hc::trainer {
namespace {

constexpr uint64_t kEvalStream = 0xe7a1;

// Per-set sums, turned into means by emit().
struct SetStats {
  int64_t tasks = 0;
  double loss = 0, acc = 0, before = 0, after = 0;
  int64_t demos = 0, whole = 0, first = 0, last = 0;
  double sse = 0, sum = 0, sum2 = 0, count = 0;

  void add(const torch::Tensor& out, const SetTensors& q, const Adapted& a) {
    const torch::Tensor loss_t = agents::task_loss(out, q.y);
    const torch::Tensor mask = q.y.mask;
    const torch::Tensor correct = out.argmax(-1).eq(q.y.labels).to(torch::kFloat32) * mask;
    const torch::Tensor acc_t = correct.sum(1) / mask.sum(1).clamp_min(1.0);
    tasks += out.size(0);
    loss += loss_t.sum().item<double>();
    acc += acc_t.sum().item<double>();
    before += a.support_before.sum().item<double>();
    after += a.support_after.sum().item<double>();
    if (q.y.kind == tasks::TargetKind::kValues) {
      const torch::Tensor m = mask.unsqueeze(-1);
      sse += ((out - q.y.values).square() * m).sum().item<double>();
      sum += (q.y.values * m).sum().item<double>();
      sum2 += (q.y.values.square() * m).sum().item<double>();
      count += mask.sum().item<double>() * static_cast<double>(out.size(2));
    }
    // Demonstrations: whole-demo, first-step and last-step accuracy.
    const auto ep = q.episode.accessor<int64_t, 2>();
    const auto ok = correct.accessor<float, 2>();
    const auto valid = mask.accessor<float, 2>();
    for (int64_t t = 0; t < out.size(0); ++t) {
      int64_t current = -1;
      bool all = true, last_ok = false;
      for (int64_t r = 0; r < q.episode.size(1); ++r) {
        if (ep[t][r] < 0 || valid[t][r] == 0.0f) continue;
        const bool c = ok[t][r] > 0.0f;
        if (ep[t][r] != current) {
          if (current >= 0) whole += all, last += last_ok;
          current = ep[t][r];
          ++demos;
          first += c;
          all = true;
        }
        all = all && c;
        last_ok = c;
      }
      if (current >= 0) whole += all, last += last_ok;
    }
  }

  void emit(const std::string& name, Metrics& m) const {
    const double n = static_cast<double>(std::max<int64_t>(tasks, 1));
    m.emplace_back(name + "/loss", loss / n);
    m.emplace_back(name + "/acc", acc / n);
    if (demos > 0) {
      m.emplace_back(name + "/acc_episode", static_cast<double>(whole) / demos);
      m.emplace_back(name + "/acc_first", static_cast<double>(first) / demos);
      m.emplace_back(name + "/acc_last", static_cast<double>(last) / demos);
    }
    if (count > 0) {
      const double sst = sum2 - sum * sum / count;
      m.emplace_back(name + "/r2", sst > 0 ? 1.0 - sse / sst : std::nan(""));
    }
    m.emplace_back(name + "/support_loss_before", before / n);
    m.emplace_back(name + "/support_loss_after", after / n);
  }
};

struct ClosedLoopStats {
  int64_t episodes = 0, success = 0, expert_success = 0;
  double ret = 0, expert_ret = 0;
};

// Acts greedily with the adapted policy in fresh episodes of the first `limit` tasks of `b`,
// beside the expert on the same episodes.
void closed_loop(const envs::EnvFamily& family, agents::PolicyImpl& policy, const Batch& b,
                 const agents::Fast& fast, int64_t limit, ClosedLoopStats& stats) {
  const int64_t tasks = std::min(b.tasks, limit);
  if (tasks <= 0) return;
  auto expert = family.make_expert();
  auto expert_env = family.make_env();
  std::vector<std::unique_ptr<envs::Env>> envs;
  std::vector<envs::Episode> episodes(tasks);
  std::vector<double> optimal(tasks);
  const int64_t d = family.input_dim();
  for (int64_t t = 0; t < tasks; ++t) {
    const uint64_t seed = derive_seed(b.seeds[t], {0xc105ed});
    expert_env->reset(seed, b.instances[t]);
    optimal[t] = expert->optimal_value(*expert_env);
    const envs::Episode ex = envs::run_expert(*expert_env, *expert, seed, b.instances[t]);
    stats.expert_ret += ex.total_return(family.discount());
    stats.expert_success += family.success(ex, optimal[t]);
    envs.push_back(family.make_env());
    envs.back()->reset(seed, b.instances[t]);
  }
  agents::Fast f;
  for (const auto& p : fast) f.push_back(p.slice(0, 0, tasks));
  torch::Tensor obs = torch::zeros({tasks, 1, d});
  torch::NoGradGuard no_grad;
  while (true) {
    bool running = false;
    for (int64_t t = 0; t < tasks; ++t) {
      float* row = obs.data_ptr<float>() + t * d;
      if (envs[t]->done()) {
        std::fill(row, row + d, 0.0f);
      } else {
        envs[t]->observe(std::span<float>(row, d));
        running = true;
      }
    }
    if (!running) break;
    agents::Inputs x;
    if (family.binary_inputs()) {
      x = agents::Inputs::from_dense_binary(obs);
    } else {
      x.tasks = tasks, x.rows = 1, x.dim = d, x.dense = obs;
    }
    const torch::Tensor actions = policy.forward(f, policy.encode(x)).argmax(-1).select(1, 0);
    const auto a = actions.accessor<int64_t, 1>();
    for (int64_t t = 0; t < tasks; ++t) {
      if (envs[t]->done()) continue;
      const envs::StepResult r = envs[t]->step(static_cast<int>(a[t]));
      episodes[t].actions.push_back(static_cast<int>(a[t]));
      episodes[t].rewards.push_back(r.reward);
      episodes[t].terminated = r.terminated;
      episodes[t].truncated = r.truncated;
    }
  }
  for (int64_t t = 0; t < tasks; ++t) {
    ++stats.episodes;
    stats.ret += episodes[t].total_return(family.discount());
    stats.success += family.success(episodes[t], optimal[t]);
  }
}

torch::Tensor flatten(const agents::Fast& fast) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : fast) parts.push_back(p.reshape({p.size(0), -1}));
  return torch::cat(parts, 1);
}

}  // namespace

double metric(const Metrics& m, const std::string& name) {
  for (const auto& [k, v] : m)
    if (k == name) return v;
  return std::numeric_limits<double>::quiet_NaN();
}

std::vector<EvalSet> make_eval_sets(const tasks::TaskFamily& family, const EvalConfig& config,
                                    uint64_t seed) {
  const tasks::Splits& s = family.splits();
  std::vector<EvalSet> sets;
  const auto add = [&](const std::string& name, const std::vector<int64_t>& from, uint64_t id) {
    if (from.empty()) return;
    EvalSet e;
    e.name = name;
    Rng rng(derive_seed(seed, {kEvalStream, id}));
    for (int i = 0; i < config.tasks; ++i) {
      e.ids.push_back(from[rng.uniform_int(from.size())]);
      e.seeds.push_back(rng.next());
    }
    sets.push_back(std::move(e));
  };
  add("test", s.train, 1);
  add("valid", s.train, 2);
  add("ood", s.ood, 3);
  for (const auto& [h, ids] : s.ood_by_hotness) add(fmt::format("ood_hot{}", h), ids, 100 + h);
  return sets;
}

std::vector<double> ridge_r2(const torch::Tensor& x_fit, const torch::Tensor& y_fit,
                             const torch::Tensor& x_score, const torch::Tensor& y_score,
                             double l2) {
  torch::NoGradGuard no_grad;
  const torch::Tensor xf = x_fit.to(torch::kFloat64), yf = y_fit.to(torch::kFloat64);
  const torch::Tensor mx = xf.mean(0), my = yf.mean(0);
  const torch::Tensor xc = xf - mx, yc = yf - my;
  const int64_t n = xc.size(0), f = xc.size(1);
  torch::Tensor w;
  if (f <= n) {
    w = torch::linalg_solve(torch::matmul(xc.t(), xc) + l2 * torch::eye(f, xc.options()),
                            torch::matmul(xc.t(), yc));
  } else {  // dual form: an n x n system when there are more features than tasks
    w = torch::matmul(xc.t(), torch::linalg_solve(torch::matmul(xc, xc.t()) +
                                                      l2 * torch::eye(n, xc.options()),
                                                  yc));
  }
  const torch::Tensor ys = y_score.to(torch::kFloat64);
  const torch::Tensor pred = torch::matmul(x_score.to(torch::kFloat64) - mx, w) + my;
  const torch::Tensor ss_res = (ys - pred).square().sum(0);
  const torch::Tensor ss_tot = (ys - ys.mean(0)).square().sum(0);
  std::vector<double> r2(ys.size(1));
  for (int64_t j = 0; j < ys.size(1); ++j) {
    const double tot = ss_tot[j].item<double>();
    r2[j] = tot > 1e-12 ? 1.0 - ss_res[j].item<double>() / tot : std::nan("");
  }
  return r2;
}

Evaluator::Evaluator(const tasks::TaskFamily& family, const EvalConfig& config, uint64_t seed,
                     int chunk, int shards)
    : family_(family), config_(config), sets_(make_eval_sets(family, config, seed)) {
  for (const EvalSet& set : sets_) {
    Prepared p;
    p.set = set;
    const auto n = static_cast<int64_t>(set.ids.size());
    for (int64_t lo = 0; lo < n; lo += chunk) {
      const int64_t hi = std::min(n, lo + chunk);
      p.chunks.push_back(make_batches(family, std::span(set.ids).subspan(lo, hi - lo),
                                      std::span(set.seeds).subspan(lo, hi - lo), shards));
    }
    prepared_.push_back(std::move(p));
  }
}

Metrics Evaluator::run(Learner& learner) {
  Metrics m;
  agents::PolicyImpl& policy = *learner.policy();
  const envs::EnvFamily* env_family = envs::as_env_family(family_);
  const int64_t id_limit = config_.identification ? config_.identification_tasks : 0;
  std::vector<torch::Tensor> id_x, id_y, ood_x, ood_y;
  std::string ood_for_id;
  for (const Prepared& p : prepared_)
    if (p.set.name == "ood" || (ood_for_id.empty() && p.set.name.rfind("ood", 0) == 0))
      ood_for_id = p.set.name;

  for (const Prepared& p : prepared_) {
    SetStats stats;
    ClosedLoopStats closed;
    const bool closed_set = env_family && config_.closed_loop && (p.set.name == "test" || p.set.name == "ood");
    int64_t seen = 0;
    for (const std::vector<Batch>& shards : p.chunks) {
      std::vector<Adapted> adapted(shards.size());
      std::vector<torch::Tensor> outputs(shards.size());
      learner.for_shards(shards.size(), [&](size_t i) {
        adapted[i] = learner.adapt(shards[i]);
        torch::NoGradGuard no_grad;
        outputs[i] = policy.forward(adapted[i].fast, policy.encode(shards[i].query.x));
        // Support loss after adaptation (what the inner loop reached).
        adapted[i].support_after =
            agents::task_loss(policy.forward(adapted[i].fast, policy.encode(shards[i].support.x)),
                              shards[i].support.y);
      });
      for (size_t i = 0; i < shards.size(); ++i) {
        stats.add(outputs[i], shards[i].query, adapted[i]);
        const int64_t before = seen;
        seen += shards[i].tasks;
        if (closed_set)
          closed_loop(*env_family, policy, shards[i], adapted[i].fast,
                      config_.closed_loop_tasks - before, closed);
        const bool for_fit = p.set.name == "test", for_score = p.set.name == ood_for_id;
        if ((for_fit || for_score) && before < id_limit) {
          const int64_t take = std::min<int64_t>(shards[i].tasks, id_limit - before);
          (for_fit ? id_x : ood_x).push_back(flatten(adapted[i].fast).slice(0, 0, take));
          (for_fit ? id_y : ood_y).push_back(shards[i].latents.slice(0, 0, take));
        }
      }
    }
    stats.emit(p.set.name, m);
    if (closed.episodes > 0) {
      const double n = static_cast<double>(closed.episodes);
      const std::string c = "closed_" + p.set.name;
      m.emplace_back(c + "/success", closed.success / n);
      m.emplace_back(c + "/return", closed.ret / n);
      m.emplace_back(c + "/expert_success", closed.expert_success / n);
      m.emplace_back(c + "/expert_return", closed.expert_ret / n);
    }
  }
  if (!id_x.empty() && !ood_x.empty()) {
    const std::vector<double> r2 =
        ridge_r2(torch::cat(id_x), torch::cat(id_y), torch::cat(ood_x), torch::cat(ood_y));
    double total = 0;
    int counted = 0;
    for (double v : r2)
      if (std::isfinite(v)) total += v, ++counted;
    m.emplace_back("id/r2", counted ? total / counted : std::nan(""));
    if (r2.size() <= 64)
      for (size_t j = 0; j < r2.size(); ++j) m.emplace_back(fmt::format("id/r2_{}", j), r2[j]);
  }
  return m;
}

}  // namespace hc::trainer
