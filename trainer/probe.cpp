#include "trainer/probe.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "base/error.h"
#include "trainer/batch.h"
#include "trainer/open_loop.h"

namespace hc::trainer {
namespace {

constexpr uint64_t kProbeStream = 0x9b0be;
// Stream ids under the probe's seed: every draw of the probe has its own.
enum Stream : uint64_t {
  kTrainSet = 1,
  kSelectSet = 2,
  kTestSet = 3,
  kOrder = 4,
  kRandomAblation = 5,
  kRandomModel = 6,
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

torch::Tensor times(const torch::Tensor& w, const torch::Tensor& m) {
  return m.defined() ? w * m : w;
}

double kept_fraction(const MaskValues& hard) {
  return static_cast<double>(kept_weights(hard)) /
         static_cast<double>(std::max<int64_t>(masked_weights(hard), 1));
}

double mean_of(const std::vector<double>& xs) {
  if (xs.empty()) return std::nan("");
  return std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}

// Masks the weights of the per-task network after adaptation. Adaptation does not see the mask,
// so each batch is adapted once (prepare) and mask training only runs the masked dense network.
class NetworkMask : public MaskedPolicy {
 public:
  explicit NetworkMask(Learner& learner) : MaskedPolicy(MaskTarget::kNetwork, learner) {
    torch::NoGradGuard no_grad;
    agents::PolicyImpl& p = *learner.policy();
    const std::vector<agents::Layer> net = p.network(p.init_fast(1));
    for (size_t i = 0; i < net.size(); ++i)
      units_.push_back({fmt::format("layer{}", i), {net[i].w.size(1), net[i].w.size(2)}});
  }

  void prepare(const std::vector<Batch>& shards) override {
    std::vector<std::vector<agents::Layer>> nets(shards.size());
    learner_.for_shards(shards.size(), [&](size_t i) {
      const Adapted a = learner_.adapt(shards[i]);
      torch::NoGradGuard no_grad;
      std::vector<agents::Layer> net = learner_.policy()->network(a.fast);
      for (agents::Layer& l : net) l = {l.w.detach().contiguous(), l.b.detach().contiguous()};
      nets[i] = std::move(net);
    });
    for (size_t i = 0; i < shards.size(); ++i) cache_[&shards[i]] = std::move(nets[i]);
  }

  void release(const std::vector<Batch>& shards) override {
    for (const Batch& b : shards) cache_.erase(&b);
  }

  double loss_and_grad(const std::vector<Batch>& shards, const MaskValues& mask,
                       MaskValues& grad) override {
    MaskValues leaves(mask.size());
    std::vector<torch::Tensor> inputs;
    for (size_t u = 0; u < mask.size(); ++u)
      if (mask[u].defined()) inputs.push_back(leaves[u] = mask[u].detach().requires_grad_());
    int64_t total = 0;
    for (const Batch& b : shards) total += b.tasks;
    std::vector<double> losses(shards.size());
    std::vector<std::vector<torch::Tensor>> grads(shards.size());
    learner_.for_shards(shards.size(), [&](size_t i) {
      const torch::Tensor loss =
          agents::task_loss(forward(shards[i], leaves), shards[i].query.y).sum() /
          static_cast<double>(total);
      losses[i] = loss.item<double>();
      grads[i] = torch::autograd::grad({loss}, inputs, {}, /*retain_graph=*/false,
                                       /*create_graph=*/false, /*allow_unused=*/true);
    });
    // Shard order, whatever thread computed a shard: reproducible sums.
    torch::NoGradGuard no_grad;
    grad.assign(mask.size(), torch::Tensor());
    double loss = 0.0;
    for (size_t i = 0; i < shards.size(); ++i) {
      loss += losses[i];
      size_t k = 0;
      for (size_t u = 0; u < mask.size(); ++u) {
        if (!mask[u].defined()) continue;
        const torch::Tensor& g = grads[i][k++];
        if (!g.defined()) continue;
        grad[u] = grad[u].defined() ? grad[u] + g : g.clone();
      }
    }
    for (size_t u = 0; u < mask.size(); ++u)
      if (mask[u].defined() && !grad[u].defined()) grad[u] = torch::zeros_like(mask[u]);
    return loss;
  }

  std::vector<torch::Tensor> outputs(const std::vector<Batch>& shards,
                                     const MaskValues& mask) override {
    std::vector<torch::Tensor> out(shards.size());
    learner_.for_shards(shards.size(), [&](size_t i) {
      torch::NoGradGuard no_grad;
      out[i] = forward(shards[i], mask);
    });
    return out;
  }

 private:
  torch::Tensor forward(const Batch& b, const MaskValues& mask) const {
    const auto it = cache_.find(&b);
    if (it == cache_.end())
      throw Error("network mask: a batch was used before prepare() adapted the policy on it");
    std::vector<agents::Layer> net = it->second;
    for (size_t i = 0; i < net.size(); ++i) net[i].w = times(net[i].w, mask[i]);
    return agents::network_forward(net, b.query.x);
  }

  std::map<const Batch*, std::vector<agents::Layer>> cache_;
};

// Masks a hypernetwork's module bank before adaptation: the masked values are written into the
// parameters, the learner's meta-gradient (through the inner loop, as in training) gives the
// gradient with respect to them, and the chain rule through w * m gives the mask's.
class BankMask : public MaskedPolicy {
 public:
  explicit BankMask(Learner& learner) : MaskedPolicy(MaskTarget::kBank, learner) {
    agents::PolicyImpl& p = *learner.policy();
    const std::vector<std::string> names = p.bank_parameters();
    if (names.empty())
      throw Error(
          "the bank target needs a hypernetwork policy (hnet_linear, hnet_mlp): an MLP has no "
          "module bank");
    if (learner.imitation())
      throw Error(
          "the bank target needs a meta-learned policy (learner maml): imitation has no "
          "adaptation to mask before");
    const auto named = p.named_parameters();
    params_ = p.parameters();
    for (const std::string& name : names) {
      const auto* found = named.find(name);
      if (!found) throw Error(fmt::format("bank parameter '{}' is not a parameter", name));
      const auto at = std::find_if(params_.begin(), params_.end(), [&](const torch::Tensor& t) {
        return t.unsafeGetTensorImpl() == found->unsafeGetTensorImpl();
      });
      index_.push_back(static_cast<size_t>(at - params_.begin()));
      original_.push_back(found->detach().clone());
      units_.push_back({name, found->sizes().vec()});
    }
  }
  ~BankMask() override { write({}); }

  double loss_and_grad(const std::vector<Batch>& shards, const MaskValues& mask,
                       MaskValues& grad) override {
    write(mask);
    StepStats stats;
    const std::vector<torch::Tensor> g = learner_.meta_gradient(shards, stats);
    torch::NoGradGuard no_grad;
    grad.assign(mask.size(), torch::Tensor());
    for (size_t u = 0; u < mask.size(); ++u)
      if (mask[u].defined()) grad[u] = g[index_[u]] * original_[u];
    return stats.loss;
  }

  std::vector<torch::Tensor> outputs(const std::vector<Batch>& shards,
                                     const MaskValues& mask) override {
    write(mask);
    std::vector<torch::Tensor> out(shards.size());
    agents::PolicyImpl& p = *learner_.policy();
    learner_.for_shards(shards.size(), [&](size_t i) {
      const Adapted a = learner_.adapt(shards[i]);
      torch::NoGradGuard no_grad;
      out[i] = p.forward(a.fast, p.encode(shards[i].query.x));
    });
    return out;
  }

 private:
  // The bank times `mask` (empty: the original bank).
  void write(const MaskValues& mask) {
    torch::NoGradGuard no_grad;
    for (size_t u = 0; u < original_.size(); ++u)
      params_[index_[u]].copy_(u < mask.size() ? times(original_[u], mask[u]) : original_[u]);
  }

  std::vector<torch::Tensor> params_, original_;
  std::vector<size_t> index_;
};

// Uniformly random ablation of as many weights as `hard` keeps, among the masked units.
MaskValues random_ablation(const MaskValues& hard, Rng& rng) {
  const int64_t n = masked_weights(hard), k = kept_weights(hard);
  std::vector<int64_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  for (int64_t i = 0; i < k; ++i)
    std::swap(idx[i], idx[i + static_cast<int64_t>(rng.uniform_int(n - i))]);
  std::vector<float> flat(n, 1.0f);
  for (int64_t i = 0; i < k; ++i) flat[idx[i]] = 0.0f;
  MaskValues out(hard.size());
  int64_t at = 0;
  for (size_t u = 0; u < hard.size(); ++u) {
    if (!hard[u].defined()) continue;
    const int64_t m = hard[u].numel();
    // clone: `flat` is local, and to() of the same type would not copy.
    out[u] = torch::from_blob(flat.data() + at, hard[u].sizes(), torch::kFloat32)
                 .clone()
                 .to(hard[u].scalar_type());
    at += m;
  }
  return out;
}

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Two-sided Student-t quantile: the t with P(|T| <= t) = confidence for `df` degrees of freedom.
double t_quantile(double confidence, int df) {
  const double nu = df;
  const double log_c = std::lgamma((nu + 1) / 2) - std::lgamma(nu / 2) - 0.5 * std::log(nu * M_PI);
  const auto density = [&](double x) {
    return std::exp(log_c - (nu + 1) / 2 * std::log1p(x * x / nu));
  };
  // P(|T| <= t) = 2 * integral_0^t density, by Simpson's rule.
  const auto mass = [&](double t) {
    const int steps = 2000;
    const double h = t / steps;
    double s = density(0) + density(t);
    for (int i = 1; i < steps; ++i) s += (i % 2 ? 4 : 2) * density(i * h);
    return 2 * s * h / 3;
  };
  double lo = 0, hi = 1;
  while (mass(hi) < confidence) hi *= 2;
  for (int i = 0; i < 60; ++i) {
    const double mid = (lo + hi) / 2;
    (mass(mid) < confidence ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

}  // namespace

Check<std::vector<double>> each_in_range(double lo, double hi) {
  return {[=](const std::vector<double>& xs) {
            return !xs.empty() &&
                   std::all_of(xs.begin(), xs.end(), [&](double x) { return x >= lo && x <= hi; });
          },
          fmt::format("a non-empty list of values in [{}, {}]", lo, hi)};
}

ProbeConfig load_probe_config(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root = path.empty() ? YAML::Node(YAML::NodeType::Map) : load_yaml_file(path);
  if (!root || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& o : overrides) {
    if (o.rfind("probe.", 0) != 0)
      throw ConfigError(fmt::format(
          "<command line>: override '{}': probe settings are given as probe.key=value", o));
    apply_override(root, o);
  }
  ConfigReader top(root, path.empty() ? "<command line>" : path, "");
  top.require_map();
  ProbeConfig c;
  top("probe", c, "the probe");
  top.finish();
  return c;
}

YAML::Node probe_config_yaml(const ProbeConfig& c) {
  YAML::Node root(YAML::NodeType::Map);
  root["probe"] = write_config(c);
  return root;
}

double mask_temperature(int epoch, int epochs, double final) {
  if (epochs <= 1) return 1.0;
  return std::pow(final, static_cast<double>(epoch) / static_cast<double>(epochs - 1));
}

int64_t MaskUnit::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

MaskValues hard_mask(const std::vector<torch::Tensor>& logits) {
  MaskValues out(logits.size());
  torch::NoGradGuard no_grad;
  for (size_t u = 0; u < logits.size(); ++u)
    if (logits[u].defined()) out[u] = logits[u].gt(0).to(logits[u].scalar_type());
  return out;
}

MaskValues ablation_of(const MaskValues& mask) {
  MaskValues out(mask.size());
  for (size_t u = 0; u < mask.size(); ++u)
    if (mask[u].defined()) out[u] = 1 - mask[u];
  return out;
}

int64_t kept_weights(const MaskValues& mask) {
  int64_t n = 0;
  for (const auto& m : mask)
    if (m.defined()) n += m.gt(0.5).sum().item<int64_t>();
  return n;
}

int64_t masked_weights(const MaskValues& mask) {
  int64_t n = 0;
  for (const auto& m : mask)
    if (m.defined()) n += m.numel();
  return n;
}

std::unique_ptr<MaskedPolicy> MaskedPolicy::make(MaskTarget target, Learner& learner) {
  if (target == MaskTarget::kBank) return std::make_unique<BankMask>(learner);
  return std::make_unique<NetworkMask>(learner);
}

std::vector<MaskTarget> mask_targets(Learner& learner, ProbeTargets which) {
  const bool bank = !learner.policy()->bank_parameters().empty() && !learner.imitation();
  switch (which) {
    case ProbeTargets::kNetwork:
      return {MaskTarget::kNetwork};
    case ProbeTargets::kBank:
      if (!bank)
        throw Error(
            "probe.targets: bank needs a meta-learned hypernetwork policy (hnet_linear, "
            "hnet_mlp with learner maml); use network");
      return {MaskTarget::kBank};
    case ProbeTargets::kAll:
      break;
  }
  if (bank) return {MaskTarget::kNetwork, MaskTarget::kBank};
  return {MaskTarget::kNetwork};
}

std::vector<bool> parse_layers(const std::string& spec, const std::vector<MaskUnit>& units) {
  std::vector<bool> on(units.size(), spec == "all");
  if (spec == "all") return on;
  std::vector<std::string> known;
  for (const auto& u : units) known.push_back(u.name);
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t end = std::min(spec.find(',', start), spec.size());
    std::string name = spec.substr(start, end - start);
    name.erase(0, name.find_first_not_of(' '));
    name.erase(name.find_last_not_of(' ') + 1);
    const auto it = std::find(known.begin(), known.end(), name);
    if (it == known.end())
      throw ConfigError(
          fmt::format("probe.search.layers: unknown unit '{}' in '{}' (units: {}, "
                      "or all)",
                      name, spec, join(known)));
    on[it - known.begin()] = true;
    start = end + 1;
  }
  return on;
}

SubroutineSet make_subroutine_set(const tasks::TaskFamily& family, const tasks::Subroutine& s,
                                  const std::vector<int64_t>& candidates, int count, int batch,
                                  int shards, uint64_t seed) {
  Rng rng(seed);
  std::vector<int64_t> ids(count);
  std::vector<uint64_t> seeds(count);
  for (int i = 0; i < count; ++i) {
    ids[i] = candidates[rng.uniform_int(candidates.size())];
    seeds[i] = rng.next();
  }
  std::vector<tasks::TaskData> data = generate(family, ids, seeds);
  SubroutineSet set;
  set.tasks = count;
  for (auto& d : data) set.rows += s.select_rows(d.query);
  if (set.rows == 0)
    throw Error(fmt::format("subroutine '{}' selects no rows of its tasks' query data", s.name));

  // Chance: the best constant prediction. Classes: the most frequent label; action vectors: the
  // mean action, scored with the family's tolerance.
  if (family.target_kind() != tasks::TargetKind::kActions) {
    std::map<int32_t, int64_t> counts;
    for (const auto& d : data)
      for (int64_t r = 0; r < d.query.rows; ++r)
        if (d.query.mask[r] != 0.0f) ++counts[d.query.labels[r]];
    int64_t top = 0;
    for (const auto& [label, n] : counts) top = std::max(top, n);
    set.chance = static_cast<double>(top) / static_cast<double>(set.rows);
  } else {
    const int c = family.output_dim();
    std::vector<double> mean(c, 0.0);
    for (const auto& d : data)
      for (int64_t r = 0; r < d.query.rows; ++r)
        if (d.query.mask[r] != 0.0f)
          for (int j = 0; j < c; ++j) mean[j] += d.query.targets[r * c + j] / set.rows;
    int64_t hits = 0;
    for (const auto& d : data)
      for (int64_t r = 0; r < d.query.rows; ++r) {
        if (d.query.mask[r] == 0.0f) continue;
        bool ok = true;
        for (int j = 0; j < c; ++j)
          ok = ok && std::abs(d.query.targets[r * c + j] - mean[j]) <= family.action_tolerance();
        hits += ok;
      }
    set.chance = static_cast<double>(hits) / static_cast<double>(set.rows);
  }

  for (int lo = 0; lo < count; lo += batch) {
    const int n = std::min(batch, count - lo);
    set.batches.push_back(pack_batches(family, std::span(data).subspan(lo, n),
                                       std::span(ids).subspan(lo, n),
                                       std::span(seeds).subspan(lo, n), shards));
  }
  return set;
}

double accuracy(MaskedPolicy& model, const SubroutineSet& set, const MaskValues& mask,
                double tolerance) {
  double correct = 0.0;
  for (const std::vector<Batch>& shards : set.batches) {
    const std::vector<torch::Tensor> out = model.outputs(shards, mask);
    for (size_t i = 0; i < shards.size(); ++i)
      correct += correct_rows(out[i], shards[i].query.y, tolerance).sum().item<double>();
  }
  return correct / static_cast<double>(set.rows);
}

double separation(const std::vector<double>& acc, const std::vector<double>& chance,
                  size_t target) {
  const auto above = [&](size_t j) { return std::max(acc[j] - chance[j], 0.0); };
  double others = 0.0;
  for (size_t j = 0; j < acc.size(); ++j)
    if (j != target) others += above(j);
  return above(target) - others / static_cast<double>(acc.size() - 1);
}

MaskTraining train_mask(MaskedPolicy& model, const std::vector<std::vector<Batch>>& batches,
                        const ProbeConfig& config, const MaskSetting& setting, uint64_t seed) {
  return train_mask(
      model, [&](int) -> const std::vector<std::vector<Batch>>& { return batches; }, config,
      setting, seed);
}

MaskTraining train_mask(MaskedPolicy& model, const EpochBatches& epoch_batches,
                        const ProbeConfig& config, const MaskSetting& setting, uint64_t seed) {
  const auto t0 = Clock::now();
  const std::vector<MaskUnit>& units = model.units();
  const std::vector<bool> on = parse_layers(setting.layers, units);
  MaskTraining r;
  r.logits.resize(units.size());
  std::vector<torch::Tensor> params;
  for (size_t u = 0; u < units.size(); ++u)
    if (on[u])
      params.push_back(r.logits[u] = torch::full(units[u].shape, setting.init).requires_grad_());
  torch::optim::Adam adam(params, torch::optim::AdamOptions(setting.lr));
  Rng rng(seed);
  for (int epoch = 0; epoch < config.epochs; ++epoch) {
    const double temperature = mask_temperature(epoch, config.epochs, config.final_temperature);
    const std::vector<std::vector<Batch>>& batches = epoch_batches(epoch);
    std::vector<size_t> order(batches.size());
    std::iota(order.begin(), order.end(), 0);
    rng.shuffle(std::span(order));
    double loss = 0.0;
    for (size_t b : order) {
      MaskValues mask(units.size()), grad;
      {
        torch::NoGradGuard no_grad;
        for (size_t u = 0; u < units.size(); ++u)
          if (on[u]) mask[u] = torch::sigmoid(temperature * r.logits[u]);
      }
      loss += model.loss_and_grad(batches[b], mask, grad);
      torch::NoGradGuard no_grad;
      for (size_t u = 0; u < units.size(); ++u) {
        if (!on[u]) continue;
        // d/ds of (task loss + lambda sum m) with m = sigmoid(T s): (dL/dm + lambda) T m (1 - m).
        r.logits[u].mutable_grad() =
            (grad[u] + config.lambda) * (temperature * mask[u] * (1 - mask[u]));
      }
      adam.step();
    }
    r.final_loss = loss / static_cast<double>(std::max<size_t>(order.size(), 1));
  }
  for (auto& l : r.logits)
    if (l.defined()) l = l.detach();
  r.seconds = seconds_since(t0);
  return r;
}

ProbeModel probe_model(LoadedRun& run) {
  ProbeModel m;
  m.label = run.dir;
  m.policy = name_of(run.config.policy.name);
  m.learner = run.learner.get();
  m.seed = run.config.train.seed;
  m.shards = run.config.train.shards;
  const RunConfig& c = run.config;
  m.untrained = [&c](uint64_t seed) {
    const tasks::TaskFamily& family = *c.family;
    agents::PolicyDims dims{family.input_dim(), family.output_dim(), 0};
    if (c.learner.name == LearnerKind::kImitation) dims.latent = family.task_space().latent_dim();
    return std::make_unique<Learner>(agents::make_policy(c.policy, dims, seed), c.learner,
                                     c.threads(), c.train.parallel == Parallel::kShards);
  };
  return m;
}

std::vector<tasks::Subroutine> select_subroutines(const tasks::TaskFamily& family,
                                                  const std::vector<std::string>& names) {
  std::vector<tasks::Subroutine> all = family.subroutines();
  if (all.empty())
    throw Error(
        fmt::format("family '{}' declares no subroutines, and the probe needs them "
                    "(TaskFamily::subroutines(); see docs/adding-an-environment.md)",
                    family.name()));
  if (names.empty()) return all;
  std::vector<std::string> known;
  for (const auto& s : all) known.push_back(s.name);
  std::vector<tasks::Subroutine> out;
  for (const std::string& name : names) {
    const auto it = std::find(known.begin(), known.end(), name);
    if (it == known.end())
      throw ConfigError(fmt::format("unknown subroutine '{}' of {} (known: {})", name,
                                    family.name(), join(known)));
    const bool seen = std::any_of(out.begin(), out.end(),
                                  [&](const tasks::Subroutine& s) { return s.name == name; });
    if (!seen) out.push_back(all[it - known.begin()]);
  }
  return out;
}

ModelProbe probe(const tasks::TaskFamily& family, const ProbeModel& model, MaskTarget target,
                 const ProbeConfig& config, const std::vector<std::string>& names,
                 const ProbeLog& log) {
  const auto t0 = Clock::now();
  const auto say = [&](const std::string& line) {
    if (log) log(line);
  };
  const std::vector<tasks::Subroutine> all = select_subroutines(family, {});
  const std::vector<tasks::Subroutine> wanted = select_subroutines(family, names);
  std::unique_ptr<MaskedPolicy> masked;
  try {
    masked = MaskedPolicy::make(target, *model.learner);
  } catch (const Error& e) {
    throw Error(fmt::format("cannot probe '{}' ({}): {}", model.label, model.policy, e.what()));
  }

  ModelProbe r;
  r.label = model.label;
  r.policy = model.policy;
  r.family = family.name();
  r.target = target;
  r.units = masked->units();

  // Subroutines are scored on tasks the policy was trained on: the question is how it performs
  // what it learnt, not how it generalises.
  std::vector<const tasks::Subroutine*> used;
  std::vector<std::vector<int64_t>> candidates;
  for (const tasks::Subroutine& s : all) {
    std::vector<int64_t> ids;
    for (int64_t id : family.splits().train)
      if (s.uses_task(family.task_space().task(id))) ids.push_back(id);
    const bool asked = std::any_of(wanted.begin(), wanted.end(),
                                   [&](const tasks::Subroutine& w) { return w.name == s.name; });
    if (ids.empty()) {
      if (asked && !names.empty())
        throw Error(
            fmt::format("subroutine '{}' uses no training task of this run's split "
                        "(support {})",
                        s.name, name_of(family.split_spec().support)));
      say(fmt::format("subroutine {} left out: it uses no training task of the split", s.name));
      continue;
    }
    used.push_back(&s);
    candidates.push_back(std::move(ids));
    r.subroutines.push_back(s.name);
    r.descriptions.push_back(s.description);
  }
  if (used.size() < 2)
    throw Error(
        fmt::format("the probe compares a subroutine with the others, and only {} of {}'s "
                    "subroutines use training tasks",
                    used.size(), family.name()));

  const uint64_t base = derive_seed(model.seed, {kProbeStream, config.seed});
  const double tol = family.action_tolerance();
  const int shards = model.shards;
  const size_t n = used.size();
  const auto stream = [&](Stream s, size_t sub, uint64_t k = 0) {
    return derive_seed(base, {s, static_cast<uint64_t>(sub), k});
  };
  const auto make_set = [&](size_t k, int count, uint64_t seed) {
    return make_subroutine_set(family, *used[k], candidates[k], count, config.batch, shards, seed);
  };
  std::vector<SubroutineSet> select, test;
  for (size_t k = 0; k < n; ++k) {
    select.push_back(make_set(k, config.select_tasks, stream(kSelectSet, k)));
    test.push_back(make_set(k, config.test_tasks, stream(kTestSet, k)));
  }
  const auto prepare = [](MaskedPolicy& m, const SubroutineSet& set) {
    for (const auto& b : set.batches) m.prepare(b);
  };
  for (size_t k = 0; k < n; ++k) {
    prepare(*masked, select[k]);
    prepare(*masked, test[k]);
  }
  const MaskValues ones(r.units.size());
  const auto accuracies = [&](MaskedPolicy& m, const std::vector<SubroutineSet>& sets,
                              const MaskValues& mask) {
    std::vector<double> acc(n);
    for (size_t k = 0; k < n; ++k) acc[k] = accuracy(m, sets[k], mask, tol);
    return acc;
  };
  std::vector<double> chance_select(n);
  for (size_t k = 0; k < n; ++k) {
    r.chance.push_back(test[k].chance);
    r.rows.push_back(test[k].rows);
    r.tasks.push_back(test[k].tasks);
    chance_select[k] = select[k].chance;
  }
  r.full = accuracies(*masked, test, ones);
  const std::vector<double> full_select = accuracies(*masked, select, ones);
  {
    std::string line = fmt::format("{} [{} mask]: full model", model.label, name_of(target));
    for (size_t k = 0; k < n; ++k)
      line += fmt::format(" | {} {:.3f} (chance {:.3f})", r.subroutines[k], r.full[k], r.chance[k]);
    say(line);
  }

  for (const tasks::Subroutine& w : wanted) {
    const size_t k =
        std::find(r.subroutines.begin(), r.subroutines.end(), w.name) - r.subroutines.begin();
    if (k == n) continue;  // left out above
    const auto t_sub = Clock::now();
    SubroutineProbe sp;
    sp.index = k;
    const std::string who = fmt::format("{} [{} mask] {}", model.label, name_of(target), w.name);

    // The training data of mask seed `s` for a masked policy: fixed or fresh every epoch, the
    // same for every configuration of the search and for the untrained-model control.
    const auto train_mask_on = [&](MaskedPolicy& m, int s, const MaskSetting& setting) {
      SubroutineSet current;
      int drawn = -1;
      const EpochBatches epoch_batches = [&](int epoch) -> const std::vector<std::vector<Batch>>& {
        const int key = config.fresh_tasks ? epoch : 0;
        if (key != drawn) {
          for (const auto& b : current.batches) m.release(b);
          current =
              make_set(k, config.train_tasks,
                       derive_seed(base, {kTrainSet, static_cast<uint64_t>(k),
                                          static_cast<uint64_t>(s), static_cast<uint64_t>(key)}));
          prepare(m, current);
          drawn = key;
        }
        return current.batches;
      };
      MaskTraining t = train_mask(m, epoch_batches, config, setting, stream(kOrder, k, s));
      for (const auto& b : current.batches) m.release(b);
      return t;
    };

    // The search, with the first mask seed, scored on the selection sets.
    std::vector<MaskTraining> trained;
    const size_t total =
        config.search.lr.size() * config.search.init.size() * config.search.layers.size();
    for (double lr : config.search.lr)
      for (double init : config.search.init)
        for (const std::string& layers : config.search.layers) {
          SearchEntry e;
          e.setting = {lr, init, layers};
          trained.push_back(train_mask_on(*masked, 0, e.setting));
          const MaskValues hard = hard_mask(trained.back().logits);
          const std::vector<double> sub = accuracies(*masked, select, hard);
          const std::vector<double> abl = accuracies(*masked, select, ablation_of(hard));
          e.target_accuracy = sub[k];
          e.full_accuracy = full_select[k];
          e.ablation_score = separation(abl, chance_select, k);
          e.kept = kept_fraction(hard);
          // A mask that keeps every weight is the model itself, and its ablation removes
          // everything: it tests nothing, however well it scores.
          const int64_t kept = kept_weights(hard);
          e.passes = kept > 0 && kept < masked_weights(hard) &&
                     e.target_accuracy >= config.search.min_accuracy * e.full_accuracy;
          e.seconds = trained.back().seconds;
          e.final_loss = trained.back().final_loss;
          sp.search.push_back(e);
          say(fmt::format(
              "{}: search {}/{} lr {} init {} layers {}: subnetwork {:.3f} (full "
              "{:.3f}), ablation score {:+.3f}, kept {:.1f}%, final loss {:.4f} "
              "({:.1f}s)",
              who, sp.search.size(), total, lr, init, layers, e.target_accuracy, e.full_accuracy,
              e.ablation_score, 100 * e.kept, e.final_loss, e.seconds));
        }
    for (size_t i = 0; i < sp.search.size(); ++i) {
      const SearchEntry& e = sp.search[i];
      if (!e.passes) continue;
      if (sp.chosen < 0 || e.ablation_score < sp.search[sp.chosen].ablation_score)
        sp.chosen = static_cast<int>(i);
    }
    sp.threshold_met = sp.chosen >= 0;
    if (!sp.threshold_met) {
      // No configuration keeps the subroutine: take the one that keeps it best, and say so.
      sp.chosen = 0;
      for (size_t i = 1; i < sp.search.size(); ++i)
        if (sp.search[i].target_accuracy > sp.search[sp.chosen].target_accuracy)
          sp.chosen = static_cast<int>(i);
    }
    const MaskSetting chosen = sp.search[sp.chosen].setting;
    say(fmt::format("{}: chosen lr {} init {} layers {}{}", who, chosen.lr, chosen.init,
                    chosen.layers,
                    sp.threshold_met ? "" : " (no configuration reached the accuracy threshold)"));

    for (int s = 0; s < config.seeds; ++s) {
      MaskResult mr;
      mr.seed = static_cast<uint64_t>(s);
      const MaskTraining t = s == 0 ? trained[sp.chosen] : train_mask_on(*masked, s, chosen);
      mr.seconds = t.seconds;
      const MaskValues hard = hard_mask(t.logits);
      mr.kept = kept_fraction(hard);
      mr.subnetwork = accuracies(*masked, test, hard);
      mr.ablated = accuracies(*masked, test, ablation_of(hard));

      Rng rng(stream(kRandomAblation, k, s));
      mr.random_ablated.assign(n, 0.0);
      for (int d = 0; d < config.random_ablations; ++d) {
        const std::vector<double> acc = accuracies(*masked, test, random_ablation(hard, rng));
        mr.random_ablation_scores.push_back(separation(acc, r.chance, k));
        for (size_t j = 0; j < n; ++j) mr.random_ablated[j] += acc[j] / config.random_ablations;
      }

      if (config.random_model && model.untrained) {
        std::unique_ptr<Learner> untrained = model.untrained(stream(kRandomModel, k, s));
        std::unique_ptr<MaskedPolicy> rm = MaskedPolicy::make(target, *untrained);
        for (size_t j = 0; j < n; ++j) prepare(*rm, test[j]);
        const MaskTraining rt = train_mask_on(*rm, s, chosen);
        const MaskValues rh = hard_mask(rt.logits);
        mr.random_model = true;
        mr.random_subnetwork = accuracies(*rm, test, rh);
        mr.random_ablated_model = accuracies(*rm, test, ablation_of(rh));
        mr.random_kept = kept_fraction(rh);
      }
      sp.masks.push_back(mr);
      say(fmt::format(
          "{}: mask {}/{}: subnetwork score {:+.3f}, ablation score {:+.3f} (random ablation "
          "{:+.3f}{}), kept {:.1f}% ({:.1f}s)",
          who, s + 1, config.seeds, separation(mr.subnetwork, r.chance, k),
          separation(mr.ablated, r.chance, k), mean_of(mr.random_ablation_scores),
          mr.random_model ? fmt::format(", untrained model: subnetwork {:+.3f}",
                                        separation(mr.random_subnetwork, r.chance, k))
                          : "",
          100 * mr.kept, mr.seconds));
    }
    sp.seconds = seconds_since(t_sub);
    say(fmt::format("{}: done in {:.1f}s", who, sp.seconds));
    r.probes.push_back(std::move(sp));
  }
  r.seconds = seconds_since(t0);
  return r;
}

Interval mean_interval(const std::vector<double>& xs, double confidence) {
  Interval iv;
  iv.n = static_cast<int>(xs.size());
  if (xs.empty()) {
    iv.mean = iv.lo = iv.hi = std::nan("");
    return iv;
  }
  double m = 0.0;
  for (double x : xs) m += x / static_cast<double>(xs.size());
  iv.mean = iv.lo = iv.hi = m;
  if (xs.size() < 2) return iv;
  double v = 0.0;
  for (double x : xs) v += (x - m) * (x - m);
  const double se =
      std::sqrt(v / static_cast<double>(xs.size() - 1) / static_cast<double>(xs.size()));
  const double half = t_quantile(confidence, iv.n - 1) * se;
  iv.lo = m - half;
  iv.hi = m + half;
  return iv;
}

std::vector<ScoredMask> score_masks(const ModelProbe& m, const SubroutineProbe& p) {
  std::vector<ScoredMask> out;
  for (const MaskResult& r : p.masks) {
    ScoredMask s;
    s.subnetwork = separation(r.subnetwork, m.chance, p.index);
    s.ablation = separation(r.ablated, m.chance, p.index);
    s.random_ablation = mean_of(r.random_ablation_scores);
    s.random_model = r.random_model;
    s.random_subnetwork =
        r.random_model ? separation(r.random_subnetwork, m.chance, p.index) : std::nan("");
    s.random_ablation_model =
        r.random_model ? separation(r.random_ablated_model, m.chance, p.index) : std::nan("");
    s.kept = r.kept;
    out.push_back(s);
  }
  return out;
}

Verdict judge(const std::vector<ScoredMask>& masks, double min_effect, double confidence) {
  std::vector<double> sub, abl, rand_abl, rand_sub, rand_model_abl, kept;
  for (const ScoredMask& s : masks) {
    sub.push_back(s.subnetwork);
    abl.push_back(s.ablation);
    kept.push_back(s.kept);
    if (std::isfinite(s.random_ablation)) rand_abl.push_back(s.random_ablation);
    if (s.random_model) {
      rand_sub.push_back(s.random_subnetwork);
      rand_model_abl.push_back(s.random_ablation_model);
    }
  }
  Verdict v;
  v.subnetwork = mean_interval(sub, confidence);
  v.ablation = mean_interval(abl, confidence);
  v.random_ablation = mean_interval(rand_abl, confidence);
  v.random_subnetwork = mean_interval(rand_sub, confidence);
  v.random_ablation_model = mean_interval(rand_model_abl, confidence);
  v.kept = mean_interval(kept, confidence);
  if (masks.empty()) return v;
  v.subnetwork_ok = v.subnetwork.lo > 0.0 && v.subnetwork.mean >= min_effect;
  v.ablation_ok = v.ablation.hi < 0.0 && v.ablation.mean <= -min_effect;
  v.beats_random =
      v.random_ablation.n > 0 && v.ablation.mean <= v.random_ablation.mean - min_effect;
  v.holds = v.subnetwork_ok && v.ablation_ok && v.beats_random;
  return v;
}

}  // namespace hc::trainer
