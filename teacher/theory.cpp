#include "teacher/theory.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <map>

#include "base/error.h"

namespace hc::teacher {
namespace {

tasks::TaskSpace make_space(const TheoryConfig& c) {
  return tasks::TaskSpace::k_hot("module", /*groups=*/1, c.num_modules, /*max_hot=*/c.num_modules);
}

std::string mask_text(int mask) {
  std::string s;
  for (int m = 0; mask >> m; ++m)
    if (mask >> m & 1) s += (s.empty() ? "" : ",") + std::to_string(m);
  return "{" + s + "}";
}

tasks::SplitSpec make_spec(const TheoryConfig& c) {
  const tasks::TaskSpace space = make_space(c);
  std::map<int, int64_t> id_of;  // module bitmask -> task id
  for (int64_t id = 0; id < space.size(); ++id) id_of[space.task(id).values[0]] = id;
  tasks::SplitSpec spec;
  spec.support = tasks::Support::kListed;
  for (int mask : c.module_sets()) spec.listed.push_back(id_of.at(mask));
  spec.ood_hotness = c.ood_hotness;
  if (spec.ood_hotness.empty())
    for (int h = 1; h <= c.num_modules; ++h) spec.ood_hotness.push_back(h);
  spec.hotness_sets_include_trained = true;
  return spec;
}

}  // namespace

std::vector<int> TheoryConfig::module_sets(const ConfigReader* r) const {
  const auto fail = [&](const std::string& expected) {
    const std::string what = fmt::format(
        "module sets separated by ';', each of module ids in 0..{} separated by ',' "
        "(e.g. \"0,1;1,2\"): {}",
        num_modules - 1, expected);
    if (r) r->fail_value("tasks", what, "\"" + tasks + "\"");
    throw ConfigError(fmt::format("family: tasks: expected {}, got \"{}\"", what, tasks));
  };
  std::vector<int> out;
  std::map<int, size_t> first;  // mask -> position in the list
  size_t pos = 0;
  while (pos <= tasks.size()) {
    size_t end = tasks.find(';', pos);
    if (end == std::string::npos) end = tasks.size();
    const std::string item = tasks.substr(pos, end - pos);
    int mask = 0;
    size_t p = 0;
    while (p <= item.size()) {
      size_t comma = item.find(',', p);
      if (comma == std::string::npos) comma = item.size();
      std::string id = item.substr(p, comma - p);
      id.erase(0, id.find_first_not_of(' '));
      id.erase(id.find_last_not_of(' ') + 1);
      int m = -1;
      if (id.empty() || id.size() > 3 ||
          !std::all_of(id.begin(), id.end(), [](unsigned char ch) { return std::isdigit(ch); }) ||
          (m = std::stoi(id)) >= num_modules)
        fail(fmt::format("'{}' in set {} ('{}') is not a module id", id, out.size() + 1, item));
      mask |= 1 << m;
      p = comma + 1;
    }
    if (auto [it, fresh] = first.emplace(mask, out.size()); !fresh)
      fail(fmt::format("sets {} and {} are both the module set {}", it->second + 1, out.size() + 1,
                       mask_text(mask)));
    out.push_back(mask);
    pos = end + 1;
  }
  return out;
}

void TheoryConfig::validate(const ConfigReader& r) const {
  module_sets(&r);
  for (int h : ood_hotness)
    if (h < 1 || h > num_modules)
      r.fail_value("ood_hotness",
                   fmt::format("hotness values in [1, num_modules] = [1, {}]", num_modules),
                   std::to_string(h));
}

TheoryFamily::TheoryFamily(const Config& c)
    : tasks::TaskFamily(kName, make_space(c), make_spec(c), c.seed, c.continuous), config_(c) {
  Rng rng(derive_seed(c.seed, {0x7e07}));
  const auto normal = [&](std::vector<float>& w, size_t n, double std) {
    w.resize(n);
    for (float& x : w) x = static_cast<float>(std * rng.truncated_normal());
  };
  normal(bank_, static_cast<size_t>(c.num_modules) * c.input_dim * c.hidden_dim,
         1.0 / std::sqrt(static_cast<double>(c.num_modules)));
  normal(head_, static_cast<size_t>(c.hidden_dim) * c.output_dim,
         1.0 / std::sqrt(static_cast<double>(c.hidden_dim)));
}

std::optional<tasks::ModuleBank> TheoryFamily::generated_bank() const {
  return tasks::ModuleBank{config_.num_modules, config_.input_dim, config_.hidden_dim, bank_};
}

void TheoryFamily::teacher_outputs(const tasks::Task& task, const float* x, int rows,
                                   float* out) const {
  const int d = config_.input_dim, h = config_.hidden_dim, k = config_.output_dim;
  // W(z) = sum_m z_m H_m, scaled by 1 / sqrt(fan-in) as the network uses it.
  std::vector<float> w(static_cast<size_t>(d) * h, 0.0f);
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  for (int m = 0; m < config_.num_modules; ++m) {
    const float z = task.weights[m] * scale;
    if (z == 0.0f) continue;
    const float* hm = bank_.data() + static_cast<size_t>(m) * d * h;
    for (size_t i = 0; i < w.size(); ++i) w[i] += z * hm[i];
  }
  std::vector<float> a(h);
  for (int r = 0; r < rows; ++r) {
    std::fill(a.begin(), a.end(), 0.0f);
    for (int i = 0; i < d; ++i) {
      const float xi = x[static_cast<size_t>(r) * d + i];
      const float* wi = w.data() + static_cast<size_t>(i) * h;
      for (int j = 0; j < h; ++j) a[j] += xi * wi[j];
    }
    float* o = out + static_cast<size_t>(r) * k;
    std::fill(o, o + k, 0.0f);
    for (int j = 0; j < h; ++j) {
      const float aj = std::max(a[j], 0.0f);
      if (aj == 0.0f) continue;
      const float* head = head_.data() + static_cast<size_t>(j) * k;
      for (int c = 0; c < k; ++c) o[c] += aj * head[c];
    }
  }
}

tasks::TaskData TheoryFamily::make_data(const tasks::Task& instance, uint64_t seed) const {
  tasks::TaskData data;
  data.task = instance;
  data.latent = task_space().latent(instance);
  Rng rng(derive_seed(seed, {0xda7a}));
  const double bound = std::sqrt(3.0);
  for (auto [set, rows] : {std::pair{&data.support, config_.support_shots},
                           std::pair{&data.query, config_.query_shots}}) {
    set->rows = rows;
    set->inputs.resize(static_cast<size_t>(rows) * config_.input_dim);
    for (float& x : set->inputs) x = static_cast<float>(rng.uniform(-bound, bound));
    set->targets.resize(static_cast<size_t>(rows) * config_.output_dim);
    teacher_outputs(instance, set->inputs.data(), rows, set->targets.data());
    set->mask.assign(rows, 1.0f);
  }
  return data;
}

tasks::TaskData TheoryFamily::make_task_data(const tasks::Task& task, uint64_t seed) const {
  tasks::Task t = instance(task, seed);
  if (!continuous_weights()) {
    // k-hot codes normalised to unit length, as the reference trains on them.
    const float w =
        1.0f / std::sqrt(static_cast<float>(std::popcount(static_cast<unsigned>(t.values[0]))));
    for (float& x : t.weights)
      if (x != 0.0f) x = w;
  }
  return make_data(t, seed);
}

tasks::TaskData TheoryFamily::make_held_out_data(const tasks::Task& task, uint64_t seed) const {
  return make_data(instance(task, seed, /*continuous=*/true), seed);
}

}  // namespace hc::teacher
