#include "trainer/probe/controls.h"

#include <fmt/format.h>

#include "agents/factory.h"
#include "base/rng.h"
#include "trainer/batch.h"

namespace hc::probe {
namespace {

constexpr int kA = 0, kB = 1, kShared = -1, kNone = -2;

// Which part owns each unit of a layer's input or output side: kA, kB, kShared (either part's
// weights may use it), kNone (no weights at all).
using Owners = std::vector<int>;

Owners owners(std::initializer_list<std::pair<int, int>> runs) {
  Owners o;
  for (const auto& [owner, count] : runs) o.insert(o.end(), count, owner);
  return o;
}

bool joins(int in, int out, int part = kShared) {
  if (in == kNone || out == kNone) return false;
  const bool pair = in == kShared || out == kShared || in == out;
  if (!pair) return false;
  if (part == kShared) return true;
  return (in == kShared || in == part) && (out == kShared || out == part);
}

// 1 where weight [in, out] may be non-zero.
torch::Tensor pattern(const Owners& in, const Owners& out, int part = kShared) {
  torch::Tensor p =
      torch::zeros({static_cast<int64_t>(in.size()), static_cast<int64_t>(out.size())});
  auto a = p.accessor<float, 2>();
  for (size_t i = 0; i < in.size(); ++i)
    for (size_t j = 0; j < out.size(); ++j) a[i][j] = joins(in[i], out[j], part) ? 1.0f : 0.0f;
  return p;
}
torch::Tensor bias_pattern(const Owners& out, int part) {
  torch::Tensor p = torch::zeros({static_cast<int64_t>(out.size())});
  for (size_t j = 0; j < out.size(); ++j) p[j] = out[j] == kShared || out[j] == part ? 1.0f : 0.0f;
  return p;
}

// A parameter's structure, held in training: where `keep` is 0 the weight is held at `value`
// (undefined: 0).
struct Held {
  std::string name;
  torch::Tensor keep, value;
};
using Patterns = std::vector<Held>;

// How strongly a part flag switches the other part's block off: far beyond what the trained
// weights from the features reach (|w| of order 1), so those units stay at 0 under ReLU.
constexpr float kGate = 20.0f;

Patterns mlp_patterns(ControlKind kind, const ControlConfig& c) {
  const int f = c.features, h = c.block;
  const Owners out = owners({{kShared, f}});
  const Owners parts = owners({{kA, h}, {kB, h}});
  if (kind == ControlKind::kDense)
    return {{"w0", pattern(owners({{kA, f}, {kB, f}}), parts), {}},
            {"w1", pattern(parts, parts), {}},
            {"w2", pattern(parts, out), {}}};
  // Shared: the first layer copies the input -- feature i to hidden unit i, each part flag to a
  // unit of its own, weight 1, bias 0, held so (a trained copy could die under ReLU) -- so every
  // path from x passes through one weight per feature that both parts read, and a mask over the
  // first layer that does part a must keep all of them. The rest of the first layer is unused.
  // The parts split from the second layer on: each block reads the feature units, and the other
  // part's flag holds it off (-kGate), so that a block works on its own part's rows only.
  const Owners read = owners({{kShared, f}, {kNone, 2 * h - f}});
  const int64_t hid = 2 * h;
  torch::Tensor w0_value = torch::zeros({f + 2, hid});
  for (int i = 0; i < f + 2; ++i) w0_value.index_put_({i, i}, 1.0f);
  const torch::Tensor w0_keep = torch::zeros({f + 2, hid});
  torch::Tensor b0_keep = torch::ones({hid});
  b0_keep.slice(0, 0, f + 2).zero_();
  torch::Tensor w1_value = torch::zeros({hid, hid});
  w1_value.index_put_({f, torch::indexing::Slice(h, hid)}, -kGate);    // flag a holds b's block
  w1_value.index_put_({f + 1, torch::indexing::Slice(0, h)}, -kGate);  // flag b holds a's block
  return {{"w0", w0_keep, w0_value},
          {"b0", b0_keep, {}},
          {"w1", pattern(read, parts), w1_value},
          {"w2", pattern(parts, out), {}}};
}

Patterns bank_patterns(const ControlConfig& c, int templates) {
  const int f = c.features, h = c.block;
  const Owners in = owners({{kA, f}, {kB, f}});
  const Owners hidden = owners({{kA, h}, {kB, h}});
  const Owners out = owners({{kShared, f}});
  const auto stack = [&](const auto& make) {
    std::vector<torch::Tensor> rows;
    for (int m = 0; m < templates; ++m)
      rows.push_back(make(m < templates / 2 ? kA : kB).reshape(-1));
    return torch::stack(rows);
  };
  return {{"in_w", stack([&](int p) { return pattern(in, hidden, p); }), {}},
          {"in_b", stack([&](int p) { return bias_pattern(hidden, p); }), {}},
          {"hid_w", stack([&](int p) { return pattern(hidden, hidden, p); }), {}},
          {"hid_b", stack([&](int p) { return bias_pattern(hidden, p); }), {}},
          {"out_w", stack([&](int p) { return pattern(hidden, out, p); }), {}},
          {"out_b", stack([&](int p) { return bias_pattern(out, p); }), {}}};
}

void project(agents::PolicyImpl& p, const Patterns& patterns) {
  torch::NoGradGuard no_grad;
  auto named = p.named_parameters();
  for (const Held& h : patterns) {
    named[h.name].mul_(h.keep);
    if (h.value.defined()) named[h.name].add_(h.value);
  }
}

}  // namespace

ControlFamily::ControlFamily(const ControlConfig& c, bool shared)
    : TaskFamily(std::string("control") + (shared ? "_shared" : "") + (c.actions ? "_actions" : ""),
                 tasks::TaskSpace::categorical({{"part", {"a", "b"}},
                                                {"variant",
                                                 [&] {
                                                   std::vector<std::string> v;
                                                   for (int i = 0; i < c.variants; ++i)
                                                     v.push_back(std::to_string(i));
                                                   return v;
                                                 }()}}),
                 tasks::SplitSpec{}, 2023, false),
      c_(c),
      shared_(shared) {}

int ControlFamily::input_dim() const { return shared_ ? c_.features + 2 : 2 * c_.features; }

tasks::TaskData ControlFamily::make_task_data(const tasks::Task& task, uint64_t seed) const {
  tasks::TaskData d;
  d.task = instance(task, seed);
  d.latent = task_space().latent(d.task);
  const int part = task.values[0], variant = task.values[1], f = c_.features;
  Rng rng(seed);
  // The support set shows every feature in turn, so that adaptation can learn the whole
  // permutation; the query set draws features at random.
  const auto fill = [&](tasks::Dataset& set, int rows, bool cover) {
    for (int r = 0; r < rows; ++r) {
      const int x = cover ? r % f : static_cast<int>(rng.uniform_int(f));
      std::vector<float> in(input_dim(), 0.0f);
      if (shared_) {
        in[x] = 1.0f;
        in[f + part] = 1.0f;
      } else {
        in[part * f + x] = 1.0f;
      }
      set.inputs.insert(set.inputs.end(), in.begin(), in.end());
      // Part a shifts the features by the variant, part b reflects them: two permutations of
      // the same classes, so that no output unit belongs to one part (were the classes apart,
      // any model's output layer would separate the parts, trained or not).
      const int label = part == 0 ? (x + variant) % f : ((variant - x) % f + f) % f;
      if (c_.actions) {
        for (int j = 0; j < f; ++j) set.targets.push_back(j == label ? 1.0f : 0.0f);
      } else {
        set.labels.push_back(label);
      }
      set.mask.push_back(1.0f);
      ++set.rows;
    }
  };
  fill(d.support, c_.support_rows, true);
  fill(d.query, c_.query_rows, false);
  return d;
}

std::vector<tasks::Subroutine> ControlFamily::subroutines() const {
  tasks::Subroutine a{"a", "part a: a shift of the features by the hidden variant"};
  tasks::Subroutine b{"b", "part b: a reflection of the features by the hidden variant"};
  a.uses_task = [](const tasks::Task& t) { return t.values[0] == 0; };
  b.uses_task = [](const tasks::Task& t) { return t.values[0] == 1; };
  return {a, b};
}

YAML::Node ControlFamily::config_fields() const {
  YAML::Node n(YAML::NodeType::Map);
  n["features"] = c_.features;
  n["variants"] = c_.variants;
  n["shared_input"] = shared_;
  n["actions"] = c_.actions;
  return n;
}

ProbeModel Control::model() const {
  ProbeModel m;
  m.label = fmt::format("{}/seed{}", label, seed);
  m.policy = label;
  m.learner = learner.get();
  m.seed = seed;
  m.shards = 2;
  const ControlFamily& fam = *family;
  m.untrained = [&fam, pc = policy, lc = learning, threads = learner->threads()](uint64_t s) {
    return std::make_unique<trainer::Learner>(
        agents::make_policy(pc, {fam.input_dim(), fam.output_dim(), 0}, s), lc, threads, true);
  };
  return m;
}

Control make_control(ControlKind kind, const ControlConfig& config, uint64_t seed) {
  Control c;
  c.kind = kind;
  c.seed = seed;
  c.family = std::make_unique<ControlFamily>(config, kind == ControlKind::kShared);
  const bool bank = kind == ControlKind::kBank;
  c.policy.name = bank ? agents::PolicyKind::kHnetLinear : agents::PolicyKind::kAnil;
  c.policy.hidden = 2 * config.block;
  c.policy.num_hidden = 2;
  c.policy.templates = 8;
  c.policy.normalize_embedding = false;
  c.label = fmt::format("{} ({})", name_of(kind), name_of(c.policy.name));
  c.learning.meta_batch = config.meta_batch;
  c.learning.inner_optimizer = trainer::InnerKind::kSgd;
  c.learning.inner_lr = 1.0;
  c.learning.inner_steps = 10;
  c.learning.inner_grad_clip = 5.0;
  c.learning.outer_lr = config.outer_lr;
  c.learning.grad_clip = 2.0;
  const ControlFamily& family = *c.family;
  c.learner = std::make_unique<trainer::Learner>(
      agents::make_policy(c.policy, {family.input_dim(), family.output_dim(), 0}, seed), c.learning,
      config.threads, true);
  if (kind == ControlKind::kUntrained) return c;

  agents::PolicyImpl& p = *c.learner->policy();
  Patterns patterns;
  if (kind == ControlKind::kDense || kind == ControlKind::kShared)
    patterns = mlp_patterns(kind, config);
  else if (bank)
    patterns = bank_patterns(config, c.policy.templates);
  project(p, patterns);
  std::vector<int64_t> ids;
  std::vector<uint64_t> seeds;
  for (int step = 0; step < config.steps; ++step) {
    trainer::training_tasks(family, seed, step, config.meta_batch, ids, seeds);
    c.learner->step(trainer::make_batches(family, ids, seeds, /*shards=*/2));
    project(p, patterns);
  }
  // Noise on every parameter: the structure is left in the magnitudes only.
  Rng rng(derive_seed(seed, {0x401e}));
  torch::NoGradGuard no_grad;
  for (auto& t : p.parameters()) {
    auto flat = t.view({-1});
    std::vector<float> noise(flat.numel());
    for (auto& x : noise) x = static_cast<float>(config.noise * rng.normal());
    flat.add_(torch::from_blob(noise.data(), {flat.numel()}, torch::kFloat32).to(t.scalar_type()));
  }
  return c;
}

}  // namespace hc::probe
