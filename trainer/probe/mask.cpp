#include "trainer/probe/mask.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <numeric>

#include "base/error.h"

namespace hc::probe {
namespace {

using trainer::Batch;

torch::Tensor times(const torch::Tensor& w, const torch::Tensor& m) {
  return m.defined() ? w * m : w;
}

std::string join(const std::vector<std::string>& xs) {
  std::string s;
  for (const auto& x : xs) s += (s.empty() ? "" : ", ") + x;
  return s;
}

// Masks the weights of the per-task network after adaptation. Adaptation does not see the mask,
// so each batch is adapted once (prepare) and mask training only runs the masked dense network.
class NetworkMask : public MaskedPolicy {
 public:
  explicit NetworkMask(trainer::Learner& learner) : MaskedPolicy(MaskTarget::kNetwork, learner) {
    torch::NoGradGuard no_grad;
    agents::PolicyImpl& p = *learner.policy();
    const std::vector<agents::Layer> net = p.network(p.init_fast(1));
    for (size_t i = 0; i < net.size(); ++i)
      units_.push_back(
          {fmt::format("layer{}", i), {net[i].w.size(1), net[i].w.size(2)}, static_cast<int>(i)});
  }

  void prepare(const std::vector<Batch>& shards) override {
    std::vector<std::vector<agents::Layer>> nets(shards.size());
    learner_.for_shards(shards.size(), [&](size_t i) {
      const trainer::Adapted a = learner_.adapt(shards[i]);
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
    for (size_t i = 0; i < net.size(); ++i)
      if (i < mask.size()) net[i].w = times(net[i].w, mask[i]);
    return agents::network_forward(net, b.query.x);
  }

  std::map<const Batch*, std::vector<agents::Layer>> cache_;
};

// The stage of a bank parameter: the generated layer it makes (in < hid < out), from its name.
int bank_part(const std::string& name) {
  const std::string part = name.substr(0, name.find('_'));
  if (part == "in") return 0;
  if (part == "hid") return 1;
  if (part == "out") return 2;
  throw Error(fmt::format("bank parameter '{}': expected a name starting in_, hid_ or out_", name));
}

// Masks a hypernetwork's module bank before adaptation: the masked values are written into the
// parameters, the learner's meta-gradient (through the inner loop, as in training) gives the
// gradient with respect to them, and the chain rule through w * m gives the mask's.
class BankMask : public MaskedPolicy {
 public:
  explicit BankMask(trainer::Learner& learner) : MaskedPolicy(MaskTarget::kBank, learner) {
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
    std::vector<int> parts;
    for (const std::string& name : names) {
      const auto* found = named.find(name);
      if (!found) throw Error(fmt::format("bank parameter '{}' is not a parameter", name));
      const auto at = std::find_if(params_.begin(), params_.end(), [&](const torch::Tensor& t) {
        return t.unsafeGetTensorImpl() == found->unsafeGetTensorImpl();
      });
      index_.push_back(static_cast<size_t>(at - params_.begin()));
      original_.push_back(found->detach().clone());
      units_.push_back({name, found->sizes().vec(), bank_part(name)});
      parts.push_back(units_.back().stage);
    }
    // Stages count the parts present (a policy with one hidden layer has no hid_ part).
    std::sort(parts.begin(), parts.end());
    parts.erase(std::unique(parts.begin(), parts.end()), parts.end());
    for (MaskUnit& u : units_)
      u.stage = static_cast<int>(std::find(parts.begin(), parts.end(), u.stage) - parts.begin());
  }
  ~BankMask() override { write({}); }

  double loss_and_grad(const std::vector<Batch>& shards, const MaskValues& mask,
                       MaskValues& grad) override {
    write(mask);
    trainer::StepStats stats;
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
      const trainer::Adapted a = learner_.adapt(shards[i]);
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

}  // namespace

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

std::vector<bool> parse_layers(const std::string& spec, const std::vector<MaskUnit>& units) {
  if (spec == "all") return std::vector<bool>(units.size(), true);
  int stages = 0;
  for (const MaskUnit& u : units) stages = std::max(stages, u.stage + 1);
  if (spec.rfind("last ", 0) == 0) {
    const std::string count = spec.substr(5);
    const bool digits = !count.empty() && std::all_of(count.begin(), count.end(), ::isdigit);
    const int n = digits && count.size() < 6 ? std::stoi(count) : 0;
    if (n < 1)
      throw ConfigError(fmt::format(
          "probe.search.layers: '{}': expected 'last N' with N a whole number >= 1", spec));
    std::vector<bool> on(units.size());
    for (size_t i = 0; i < units.size(); ++i) on[i] = units[i].stage >= stages - n;
    return on;
  }
  std::vector<bool> on(units.size(), false);
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
      throw ConfigError(fmt::format(
          "probe.search.layers: unknown unit '{}' in '{}' (units: {}; or all, or last N)", name,
          spec, join(known)));
    on[it - known.begin()] = true;
    start = end + 1;
  }
  return on;
}

std::unique_ptr<MaskedPolicy> MaskedPolicy::make(MaskTarget target, trainer::Learner& learner) {
  if (target == MaskTarget::kBank) return std::make_unique<BankMask>(learner);
  return std::make_unique<NetworkMask>(learner);
}

std::vector<MaskTarget> mask_targets(trainer::Learner& learner, ProbeTargets which) {
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

}  // namespace hc::probe
