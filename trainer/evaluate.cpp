#include "trainer/evaluate.h"

#include <fmt/format.h>

#include "envs/core/env_family.h"
#include "trainer/closed_loop.h"
#include "trainer/distributed.h"
#include "trainer/identification.h"

namespace hc::trainer {
namespace {

constexpr uint64_t kEvalStream = 0xe7a1;

}  // namespace

std::vector<EvalSet> make_eval_sets(const tasks::TaskFamily& family, const EvalConfig& config,
                                    uint64_t seed) {
  const tasks::Splits& s = family.splits();
  std::vector<EvalSet> sets;
  const auto add = [&](const std::string& name, const std::vector<int64_t>& from, uint64_t id) {
    if (from.empty()) return;
    EvalSet e;
    e.name = name;
    e.draw = name.rfind("ood", 0) == 0 ? Draw::kHeldOut : Draw::kTraining;
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

Evaluator::Evaluator(const tasks::TaskFamily& family, const EvalConfig& config, uint64_t seed,
                     int chunk, int shards, int rank, int world)
    : family_(family),
      config_(config),
      sets_(make_eval_sets(family, config, seed)),
      rank_(rank),
      world_(world) {
  for (const EvalSet& set : sets_) {
    Prepared p;
    p.set = set;
    const auto n = static_cast<int64_t>(set.ids.size());
    for (int64_t lo = 0; lo < n; lo += chunk) {
      const int64_t hi = std::min(n, lo + chunk);
      // Every rank holds every shard (made once per run): rank 0 aggregates them all, and each
      // rank picks its own by index.
      p.chunks.push_back(make_batches(family, std::span(set.ids).subspan(lo, hi - lo),
                                      std::span(set.seeds).subspan(lo, hi - lo), shards,
                                      /*rank=*/0, /*world=*/1, set.draw));
    }
    prepared_.push_back(std::move(p));
  }
}

Metrics Evaluator::run(Learner& learner) {
  Metrics m;
  agents::PolicyImpl& policy = *learner.policy();
  const envs::EnvFamily* env_family = envs::as_env_family(family_);
  IdentificationProbe probe(config_.identification ? config_.identification_tasks : 0,
                            config_.ridge_l2, config_.ridge_intercept);
  // The probe is fitted on `test` and scored on `ood` (or the first OOD-by-hotness set), and on
  // `valid` with it.
  std::string ood_for_id;
  for (const Prepared& p : prepared_)
    if (p.set.name == "ood" || (ood_for_id.empty() && p.set.name.rfind("ood", 0) == 0))
      ood_for_id = p.set.name;

  for (const Prepared& p : prepared_) {
    OpenLoopStats stats(family_.action_tolerance());
    ClosedLoopStats closed;
    const bool closed_set =
        env_family && config_.closed_loop && (p.set.name == "test" || p.set.name == "ood");
    int64_t seen = 0;
    for (const std::vector<Batch>& shards : p.chunks) {
      // This rank's shards of the chunk: all of them in one process.
      const auto [first, last] = rank_shards(static_cast<int>(shards.size()), world_, rank_);
      std::vector<Adapted> adapted(shards.size());
      std::vector<torch::Tensor> outputs(shards.size());
      learner.for_shards(last - first, [&](size_t j) {
        const size_t i = first + j;
        const Batch& b = shards[i];
        adapted[i] = learner.adapt(b);
        torch::NoGradGuard no_grad;
        outputs[i] = policy.forward(adapted[i].fast, policy.encode(b.query.x));
        // Support loss after adaptation (what the inner loop reached).
        adapted[i].support_after = agents::task_loss(
            policy.forward(adapted[i].fast, policy.encode(b.support.x)), b.support.y);
      });
      if (world_ > 1 && !gather(learner, adapted, outputs, first, last)) continue;
      for (size_t i = 0; i < shards.size(); ++i) {
        stats.add(outputs[i], shards[i].query, adapted[i].support_before, adapted[i].support_after);
        const int64_t before = seen;
        seen += shards[i].tasks;
        if (closed_set)
          closed_loop(*env_family, policy, shards[i], adapted[i].fast,
                      config_.closed_loop_tasks - before, closed);
        using Role = IdentificationProbe::Role;
        if (p.set.name == "test") probe.add(Role::kFit, adapted[i].fast, shards[i].latents, before);
        if (p.set.name == "valid") probe.add(Role::kId, adapted[i].fast, shards[i].latents, before);
        if (p.set.name == ood_for_id)
          probe.add(Role::kOod, adapted[i].fast, shards[i].latents, before);
        else if (p.set.draw == Draw::kHeldOut)
          probe.add_scored(p.set.name, adapted[i].fast, shards[i].latents, before);
      }
    }
    if (rank_ != 0) continue;
    stats.emit(p.set.name, m);
    closed.emit(p.set.name, m);
  }
  if (rank_ != 0) return {};
  torch::Tensor teacher_bank;
  if (const auto bank = family_.generated_bank())
    teacher_bank = torch::from_blob(const_cast<float*>(bank->weights.data()),
                                    {bank->modules, bank->in, bank->out})
                       .clone();
  probe.emit(m, policy.input_bank(), teacher_bank);
  return m;
}

bool Evaluator::gather(Learner& learner, std::vector<Adapted>& adapted,
                       std::vector<torch::Tensor>& outputs, int first, int last) {
  // Per shard: outputs, support losses, then the fast parameters.
  std::vector<torch::Tensor> mine;
  for (int i = first; i < last; ++i) {
    mine.push_back(outputs[i]);
    mine.push_back(adapted[i].support_before);
    mine.push_back(adapted[i].support_after);
    mine.push_back(torch::tensor({static_cast<int64_t>(adapted[i].fast.size())}));
    for (const auto& f : adapted[i].fast) mine.push_back(f);
  }
  const std::vector<std::string> all = learner.group()->all_gather(pickle(mine));
  if (rank_ != 0) return false;
  const int total = static_cast<int>(adapted.size());
  for (int r = 1; r < world_; ++r) {
    const std::vector<torch::Tensor> t = unpickle(all[r], "evaluation results");
    const auto [lo, hi] = rank_shards(total, world_, r);
    size_t k = 0;
    for (int i = lo; i < hi; ++i) {
      if (k + 4 > t.size())
        throw DistError(fmt::format("rank {} sent too few evaluation results", r));
      outputs[i] = t[k++];
      adapted[i].support_before = t[k++];
      adapted[i].support_after = t[k++];
      const int64_t nfast = t[k++].item<int64_t>();
      if (nfast < 0 || k + static_cast<size_t>(nfast) > t.size())
        throw DistError(fmt::format("rank {} sent malformed evaluation results", r));
      adapted[i].fast.assign(t.begin() + static_cast<int64_t>(k),
                             t.begin() + static_cast<int64_t>(k) + nfast);
      k += static_cast<size_t>(nfast);
    }
    if (k != t.size()) throw DistError(fmt::format("rank {} sent too many evaluation results", r));
  }
  return true;
}

}  // namespace hc::trainer
