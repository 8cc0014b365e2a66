#include "tasks/task_space.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <numeric>
#include <set>

#include "base/error.h"

namespace hc::tasks {
namespace {

constexpr int64_t kMaxTasks = 5'000'000;

// Module bitmasks with 1..max_hot bits, by hotness then lexicographically by module list.
std::vector<int> combinations(int modules, int max_hot) {
  std::vector<int> out;
  for (int k = 1; k <= max_hot; ++k) {
    std::vector<int> idx(k);
    std::iota(idx.begin(), idx.end(), 0);
    while (true) {
      int mask = 0;
      for (int i : idx) mask |= 1 << i;
      out.push_back(mask);
      int i = k - 1;
      while (i >= 0 && idx[i] == modules - k + i) --i;
      if (i < 0) break;
      ++idx[i];
      for (int j = i + 1; j < k; ++j) idx[j] = idx[j - 1] + 1;
    }
  }
  return out;
}

std::string mask_string(int mask) {
  std::string s = "[";
  for (int m = 0; mask >> m; ++m)
    if (mask >> m & 1) s += (s.size() > 1 ? "," : "") + std::to_string(m);
  return s + "]";
}

bool parse_int(std::string_view s, int64_t& out) {
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// connected: in every group, a single module or a ring pair (i, i+1) or (i, i+2).
bool in_connected_support(const std::vector<int>& masks, int modules) {
  return std::all_of(masks.begin(), masks.end(), [&](int mask) {
    const int k = std::popcount(static_cast<unsigned>(mask));
    if (k == 1) return true;
    if (k != 2) return false;
    const int d = 31 - std::countl_zero(static_cast<unsigned>(mask)) -
                  std::countr_zero(static_cast<unsigned>(mask));
    return d == 1 || d == 2 || modules - d == 1 || modules - d == 2;
  });
}

// disconnected: every group 1-hot or every group 2-hot, and all active modules of the task in
// the first half or all in the second half, so the two halves never meet in a training task.
bool in_disconnected_support(const std::vector<int>& masks, int modules) {
  const int half = modules / 2;
  const unsigned low = (1u << half) - 1, high = ((1u << modules) - 1) & ~low;
  const int k = std::popcount(static_cast<unsigned>(masks.front()));
  unsigned all = 0;
  for (int mask : masks) {
    if (std::popcount(static_cast<unsigned>(mask)) != k || k > 2) return false;
    all |= static_cast<unsigned>(mask);
  }
  return (all & ~low) == 0 || (all & ~high) == 0;
}

// The hotness shared by every group, or 0 if the groups differ.
int exact_hotness(const std::vector<int>& masks) {
  const int k = std::popcount(static_cast<unsigned>(masks.front()));
  for (int mask : masks)
    if (std::popcount(static_cast<unsigned>(mask)) != k) return 0;
  return k;
}

}  // namespace

TaskSpace TaskSpace::categorical(std::vector<Factor> factors) {
  TaskSpace space;
  int64_t n = 1;
  for (const auto& f : factors) {
    if (f.values.empty()) throw ConfigError("factor '" + f.name + "' has no values");
    n *= static_cast<int64_t>(f.values.size());
  }
  if (n > kMaxTasks) throw ConfigError(fmt::format("task space too large: {} tasks", n));
  space.factors_ = std::move(factors);
  space.tasks_.resize(n);
  for (int64_t id = 0; id < n; ++id) {
    Task& t = space.tasks_[id];
    t.id = id;
    t.values.resize(space.factors_.size());
    int64_t rest = id;  // mixed radix, last factor fastest
    for (size_t f = space.factors_.size(); f-- > 0;) {
      const auto size = static_cast<int64_t>(space.factors_[f].values.size());
      t.values[f] = static_cast<int>(rest % size);
      rest /= size;
    }
  }
  return space;
}

TaskSpace TaskSpace::k_hot(std::string module_name, int groups, int modules, int max_hot) {
  if (groups < 1 || modules < 1 || modules > 30 || max_hot < 1 || max_hot > modules)
    throw ConfigError(
        fmt::format("invalid k-hot task space: groups={}, modules={} (expected 1..30), max_hot={} "
                    "(expected 1..modules)",
                    groups, modules, max_hot));
  TaskSpace space;
  space.module_name_ = std::move(module_name);
  space.groups_ = groups;
  space.modules_ = modules;
  space.max_hot_ = max_hot;
  const std::vector<int> combos = combinations(modules, max_hot);
  const auto c = static_cast<int64_t>(combos.size());
  double n = std::pow(static_cast<double>(c), groups);
  if (n > kMaxTasks)
    throw ConfigError(fmt::format(
        "k-hot task space too large: {}^{} tasks (modules={}, max_hot={}, groups={}); lower "
        "max_hot or modules",
        c, groups, modules, max_hot, groups));
  space.tasks_.resize(static_cast<size_t>(n));
  for (int64_t id = 0; id < static_cast<int64_t>(n); ++id) {
    Task& t = space.tasks_[id];
    t.id = id;
    t.values.resize(groups);
    t.weights.assign(static_cast<size_t>(groups) * modules, 0.0f);
    int64_t rest = id;
    for (int g = groups; g-- > 0;) {
      const int mask = combos[rest % c];
      rest /= c;
      t.values[g] = mask;
      for (int m = 0; m < modules; ++m)
        if (mask >> m & 1) t.weights[g * modules + m] = 1.0f;
    }
  }
  return space;
}

const Task& TaskSpace::task(int64_t id) const {
  if (id < 0 || id >= size())
    throw EnvError(fmt::format("task index {} out of range: expected 0..{}", id, size() - 1));
  return tasks_[id];
}

void TaskSpace::validate(const Task& t) const {
  const Task& ref = task(t.id);
  if (t.values != ref.values)
    throw EnvError(fmt::format("task {} has values that are not those of task {} ({})", t.id, t.id,
                               describe(ref)));
  if (categorical()) return;
  if (t.weights.size() != ref.weights.size())
    throw EnvError(fmt::format("task {}: expected {} combination weights, got {}", t.id,
                               ref.weights.size(), t.weights.size()));
  for (size_t i = 0; i < t.weights.size(); ++i) {
    const bool active = ref.weights[i] != 0.0f;
    const float w = t.weights[i];
    if (active ? !(w > 0.0f && w <= 1.0f) : w != 0.0f)
      throw EnvError(fmt::format("task {}: weight {} of module {} (group {}) must be {}", t.id, w,
                                 i % modules_, i / modules_,
                                 active ? "in (0, 1]" : "0 (module not in the combination)"));
  }
}

int TaskSpace::latent_dim() const {
  if (categorical()) {
    int n = 0;
    for (const auto& f : factors_) n += static_cast<int>(f.values.size());
    return n;
  }
  return groups_ * modules_;
}

void TaskSpace::latent(const Task& t, std::span<float> out) const {
  std::fill(out.begin(), out.end(), 0.0f);
  if (categorical()) {
    int offset = 0;
    for (size_t f = 0; f < factors_.size(); ++f) {
      out[offset + t.values[f]] = 1.0f;
      offset += static_cast<int>(factors_[f].values.size());
    }
    return;
  }
  std::copy(t.weights.begin(), t.weights.end(), out.begin());
}

std::vector<float> TaskSpace::latent(const Task& t) const {
  std::vector<float> out(latent_dim());
  latent(t, out);
  return out;
}

int TaskSpace::hotness(const Task& t) const {
  if (categorical()) return 1;
  int h = 0;
  for (int mask : t.values) h = std::max(h, std::popcount(static_cast<unsigned>(mask)));
  return h;
}

std::string TaskSpace::describe(const Task& t) const {
  std::string s;
  if (categorical()) {
    for (size_t f = 0; f < factors_.size(); ++f)
      s += fmt::format("{}{}={}", f ? " " : "", factors_[f].name, factors_[f].values[t.values[f]]);
    return s;
  }
  s = module_name_ + "s=";
  for (int g = 0; g < groups_; ++g) s += (g ? "+" : "") + mask_string(t.values[g]);
  return s;
}

int64_t TaskSpace::find(std::string_view text) const {
  int64_t id;
  if (parse_int(text, id)) return task(id).id;
  const auto fail = [&](const std::string& why) -> int64_t {
    std::string example = describe(tasks_.front());
    throw EnvError(fmt::format("task '{}': {}; expected a task index in 0..{} or the form '{}'",
                               text, why, size() - 1, example));
  };
  if (categorical()) {
    std::vector<int> values(factors_.size(), -1);
    size_t pos = 0;
    while (pos < text.size()) {
      while (pos < text.size() && (text[pos] == ' ' || text[pos] == ',')) ++pos;
      if (pos >= text.size()) break;
      size_t end = pos;
      while (end < text.size() && text[end] != ' ' && text[end] != ',') ++end;
      const std::string_view item = text.substr(pos, end - pos);
      pos = end;
      const auto eq = item.find('=');
      if (eq == std::string_view::npos) return fail("'" + std::string(item) + "' is not key=value");
      const std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
      auto f = std::find_if(factors_.begin(), factors_.end(),
                            [&](const Factor& x) { return x.name == key; });
      if (f == factors_.end()) return fail("unknown factor '" + std::string(key) + "'");
      const auto& names = f->values;
      auto v = std::find(names.begin(), names.end(), val);
      int64_t index;
      if (v != names.end())
        index = v - names.begin();
      else if (!parse_int(val, index) || index < 0 || index >= static_cast<int64_t>(names.size()))
        return fail(fmt::format("{} must be one of {} or an index below {}", key,
                                fmt::join(names, ", "), names.size()));
      values[f - factors_.begin()] = static_cast<int>(index);
    }
    for (size_t f = 0; f < factors_.size(); ++f)
      if (values[f] < 0) return fail("missing factor '" + factors_[f].name + "'");
    for (const Task& t : tasks_)
      if (t.values == values) return t.id;
    return fail("no such task");
  }
  std::string_view body = text;
  const auto eq = body.find('=');
  if (eq != std::string_view::npos) body = body.substr(eq + 1);
  std::vector<int> masks;
  size_t pos = 0;
  while (pos < body.size()) {
    if (body[pos] == '+') ++pos;
    if (pos >= body.size() || body[pos] != '[')
      return fail("expected '[' at position " + std::to_string(pos));
    const auto close = body.find(']', pos);
    if (close == std::string_view::npos) return fail("missing ']'");
    int mask = 0;
    std::string_view inner = body.substr(pos + 1, close - pos - 1);
    size_t p = 0;
    while (p < inner.size()) {
      size_t comma = inner.find(',', p);
      if (comma == std::string_view::npos) comma = inner.size();
      int64_t m;
      if (!parse_int(inner.substr(p, comma - p), m) || m < 0 || m >= modules_)
        return fail(fmt::format("module ids must be integers in 0..{}", modules_ - 1));
      mask |= 1 << m;
      p = comma + 1;
    }
    masks.push_back(mask);
    pos = close + 1;
  }
  if (static_cast<int>(masks.size()) != groups_)
    return fail(fmt::format("expected {} group(s) of modules, got {}", groups_, masks.size()));
  for (const Task& t : tasks_)
    if (t.values == masks) return t.id;
  return fail(fmt::format("not a task of this space (at most {} modules per group)", max_hot_));
}

void TaskSpace::draw_weights(Task& t, Rng& rng) const {
  if (categorical()) return;
  for (int g = 0; g < groups_; ++g) {
    float* w = t.weights.data() + static_cast<size_t>(g) * modules_;
    double total = 0.0;
    for (int m = 0; m < modules_; ++m)
      if (t.values[g] >> m & 1) {
        w[m] = static_cast<float>(-std::log(1.0 - rng.uniform()));  // exponential
        total += w[m];
      }
    // Dividing by the sum plus one (not the sum) keeps a single active module's weight random.
    for (int m = 0; m < modules_; ++m)
      if (t.values[g] >> m & 1) w[m] = static_cast<float>(0.5 + 0.5 * w[m] / (total + 1.0));
  }
}

bool TaskSpace::supports(Support s) const {
  if (s == Support::kListed) return true;
  if (categorical()) return s == Support::kRandom || s == Support::kNonCompositional;
  if (s == Support::kConnected || s == Support::kDisconnected) return modules_ >= 4;
  return true;
}

bool TaskSpace::covers_all_values(std::span<const int64_t> ids) const {
  if (categorical()) {
    for (size_t f = 0; f < factors_.size(); ++f)
      for (size_t v = 0; v < factors_[f].values.size(); ++v)
        if (std::none_of(ids.begin(), ids.end(),
                         [&](int64_t id) { return tasks_[id].values[f] == static_cast<int>(v); }))
          return false;
    return true;
  }
  for (int g = 0; g < groups_; ++g) {
    int seen = 0;
    for (int64_t id : ids) seen |= tasks_[id].values[g];
    if (seen != (1 << modules_) - 1) return false;
  }
  return true;
}

Splits TaskSpace::split(const SplitSpec& spec, uint64_t seed) const {
  if (!supports(spec.support))
    throw ConfigError(fmt::format(
        "support '{}' does not apply to this task space ({}); expected one of: {}",
        to_string(spec.support),
        categorical() ? "categorical factors" : fmt::format("{} modules", modules_),
        categorical() ? "random, non_compositional, listed"
                      : "random, non_compositional, k_hot, connected, disconnected (>= 4 "
                        "modules), listed"));
  const int train_hot = categorical() || spec.train_hot == 0 ? max_hot_ : spec.train_hot;
  Splits out;
  std::vector<int64_t> candidates;
  for (const Task& t : tasks_)
    if (categorical() || hotness(t) <= train_hot) candidates.push_back(t.id);
  // non_compositional holds out the last value of the first factor, or the last module of the
  // last group.
  const auto holds_last_value = [&](const Task& t) {
    if (categorical())
      return t.values.front() == static_cast<int>(factors_.front().values.size()) - 1;
    return (t.values.back() >> (modules_ - 1) & 1) != 0;
  };
  switch (spec.support) {
    case Support::kRandom: {
      if (!(spec.frac_ood > 0.0 && spec.frac_ood < 1.0))
        throw ConfigError(fmt::format("frac_ood = {}: expected a value in (0, 1)", spec.frac_ood));
      std::vector<int64_t> order = candidates;
      Rng rng(derive_seed(seed, {0x5b1e}));
      rng.shuffle(std::span<int64_t>(order));
      const auto want = static_cast<size_t>(std::floor(spec.frac_ood * order.size()));
      // Count training tasks per factor value (or module) so that holding a task out never
      // removes the last training task of a value.
      std::vector<int> count(categorical() ? latent_dim() : groups_ * modules_, 0);
      const auto each_value = [&](const Task& t, auto&& fn) {
        if (categorical()) {
          int offset = 0;
          for (size_t f = 0; f < factors_.size(); ++f) {
            fn(offset + t.values[f]);
            offset += static_cast<int>(factors_[f].values.size());
          }
        } else {
          for (int g = 0; g < groups_; ++g)
            for (int m = 0; m < modules_; ++m)
              if (t.values[g] >> m & 1) fn(g * modules_ + m);
        }
      };
      for (int64_t id : order) each_value(tasks_[id], [&](int v) { ++count[v]; });
      std::vector<char> held(tasks_.size(), 0);
      size_t n_held = 0;
      for (int64_t id : order) {
        if (n_held == want) break;
        bool ok = true;
        each_value(tasks_[id], [&](int v) { ok = ok && count[v] > 1; });
        if (!ok) continue;
        each_value(tasks_[id], [&](int v) { --count[v]; });
        held[id] = 1;
        ++n_held;
      }
      if (n_held < want)
        throw ConfigError(fmt::format(
            "frac_ood = {} asks for {} held-out tasks, but only {} can be held out while every "
            "factor value stays in training",
            spec.frac_ood, want, n_held));
      for (int64_t id : candidates) (held[id] ? out.ood : out.train).push_back(id);
      break;
    }
    case Support::kNonCompositional:
      for (int64_t id : candidates)
        (holds_last_value(tasks_[id]) ? out.ood : out.train).push_back(id);
      break;
    case Support::kKHot:
      out.train = candidates;
      break;
    case Support::kListed: {
      std::set<int64_t> listed;
      for (int64_t id : spec.listed) {
        if (id < 0 || id >= size())
          throw ConfigError(
              fmt::format("listed support: task {} is not a task id in 0..{}", id, size() - 1));
        if (!listed.insert(id).second)
          throw ConfigError(
              fmt::format("listed support: task {} ({}) is listed twice", id, describe(task(id))));
        if (hotness(task(id)) > train_hot)
          throw ConfigError(
              fmt::format("listed support: task {} ({}) has more than {} modules "
                          "in a group",
                          id, describe(task(id)), train_hot));
      }
      out.train = spec.listed;
      for (int64_t id : candidates)
        if (!listed.count(id)) out.ood.push_back(id);
      break;
    }
    case Support::kConnected:
    case Support::kDisconnected:
      // Both supports share one OOD set, the tasks in neither support, so that their OOD
      // scores compare like with like.
      for (int64_t id : candidates) {
        const Task& t = tasks_[id];
        const bool connected = in_connected_support(t.values, modules_);
        const bool disconnected = in_disconnected_support(t.values, modules_);
        if (spec.support == Support::kConnected ? connected : disconnected)
          out.train.push_back(id);
        else if (!connected && !disconnected)
          out.ood.push_back(id);
      }
      break;
  }
  if (out.train.empty())
    throw ConfigError(fmt::format("support '{}' leaves no training task", to_string(spec.support)));
  if (!categorical()) {
    std::vector<int> hotness = spec.ood_hotness;
    if (hotness.empty())
      for (int h = train_hot + 1; h <= max_hot_; ++h) hotness.push_back(h);
    const std::set<int64_t> held(out.ood.begin(), out.ood.end());
    for (int h : hotness) {
      std::vector<int64_t>& set = out.ood_by_hotness[h];
      for (const Task& t : tasks_)
        if (exact_hotness(t.values) == h &&
            (spec.hotness_sets_include_trained || h > train_hot || held.count(t.id)))
          set.push_back(t.id);
      if (set.empty()) out.ood_by_hotness.erase(h);
    }
  }
  return out;
}

}  // namespace hc::tasks
