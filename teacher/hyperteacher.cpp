#include "teacher/hyperteacher.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace hc::teacher {
namespace {

tasks::TaskSpace make_space(const HyperteacherConfig& c) {
  return tasks::TaskSpace::k_hot("module", c.num_hidden - 1, c.num_modules, c.max_hot);
}

// out[rows x n] = x[rows x k] * w[k x n] * scale, then ReLU if `relu`.
void dense(const float* x, const float* w, int rows, int k, int n, float scale, bool relu,
           float* out) {
  for (int r = 0; r < rows; ++r) {
    float* o = out + static_cast<size_t>(r) * n;
    std::fill(o, o + n, 0.0f);
    for (int i = 0; i < k; ++i) {
      const float xi = x[static_cast<size_t>(r) * k + i] * scale;
      const float* wi = w + static_cast<size_t>(i) * n;
      for (int j = 0; j < n; ++j) o[j] += xi * wi[j];
    }
    if (relu)
      for (int j = 0; j < n; ++j) o[j] = std::max(o[j], 0.0f);
  }
}

}  // namespace

void HyperteacherConfig::validate(const ConfigReader& r) const {
  if (num_hot > num_modules)
    r.fail_value("num_hot", fmt::format("at most num_modules ({})", num_modules),
                 std::to_string(num_hot));
  if (max_hot < num_hot || max_hot > num_modules)
    r.fail_value("max_hot",
                 fmt::format("a value in [num_hot, num_modules] = [{}, {}]", num_hot, num_modules),
                 std::to_string(max_hot));
  for (int h : ood_hotness)
    if (h < 1 || h > max_hot)
      r.fail_value("ood_hotness", fmt::format("hotness values in [1, max_hot] = [1, {}]", max_hot),
                   std::to_string(h));
  // Every layer k-hot of M: the task space grows as (M choose <= max_hot)^layers.
  double combos = 0, choose = 1;
  for (int k = 1; k <= max_hot; ++k) combos += choose = choose * (num_modules - k + 1) / k;
  if (std::pow(combos, num_hidden - 1) > 2e6)
    r.fail_value(
        "max_hot",
        fmt::format("a task space of at most 2,000,000 tasks (num_modules {}, {} generated "
                    "layers give {:.3g})",
                    num_modules, num_hidden - 1, std::pow(combos, num_hidden - 1)),
        std::to_string(max_hot));
  if (static_cast<double>(reference_inputs) * (input_dim + output_dim) > 1e8)
    r.fail_value("reference_inputs",
                 "at most 1e8 / (input_dim + output_dim) reference inputs (memory)",
                 std::to_string(reference_inputs));
}

HyperteacherFamily::HyperteacherFamily(const Config& c)
    : tasks::TaskFamily(kName, make_space(c), c.split.spec(c.num_hot, c.ood_hotness), c.split.seed,
                        c.continuous),
      config_(c) {
  Rng rng(derive_seed(c.split.seed, {0x7eac}));
  const auto normal = [&](std::vector<float>& w, size_t n) {
    w.resize(n);
    for (float& x : w) x = static_cast<float>(rng.truncated_normal());
  };
  const int h = c.hidden_dim, layers = c.num_hidden - 1;
  normal(w_in_, static_cast<size_t>(c.input_dim) * h);
  const size_t code = static_cast<size_t>(c.chunking ? 1 : layers) * c.num_modules;
  normal(banks_, code * (c.chunking ? 1 : layers) * h * h);
  normal(w_out_, static_cast<size_t>(h) * c.output_dim);
  reference_.resize(static_cast<size_t>(c.reference_inputs) * c.input_dim);
  for (float& x : reference_) x = static_cast<float>(rng.uniform(-1.0, 1.0));
}

void HyperteacherFamily::generated_layer(const tasks::Task& task, int l,
                                         std::vector<float>& w) const {
  const Config& c = config_;
  const int h = c.hidden_dim, m = c.num_modules, layers = c.num_hidden - 1;
  const size_t block = static_cast<size_t>(h) * h;
  w.assign(block, 0.0f);
  if (c.chunking) {
    // W_l = sum_m z[l, m] bank[m]: one bank of modules, a combination per layer.
    for (int k = 0; k < m; ++k) {
      const float z = task.weights[static_cast<size_t>(l) * m + k];
      if (z == 0.0f) continue;
      const float* bank = banks_.data() + k * block;
      for (size_t i = 0; i < block; ++i) w[i] += z * bank[i];
    }
  } else {
    // W_l = sum over every (layer, module) entry e of the code: z[e] G[e, l]: each entry's row of
    // the generator spans all generated layers.
    for (size_t e = 0; e < static_cast<size_t>(layers) * m; ++e) {
      const float z = task.weights[e];
      if (z == 0.0f) continue;
      const float* g = banks_.data() + (e * layers + l) * block;
      for (size_t i = 0; i < block; ++i) w[i] += z * g[i];
    }
  }
}

void HyperteacherFamily::teacher_logits(const tasks::Task& task, const float* x, int rows,
                                        float* out) const {
  const Config& c = config_;
  const int h = c.hidden_dim;
  std::vector<float> a(static_cast<size_t>(rows) * h), b(a.size()), w;
  dense(x, w_in_.data(), rows, c.input_dim, h, 1.0f / std::sqrt(static_cast<float>(c.input_dim)),
        true, a.data());
  for (int l = 0; l + 1 < c.num_hidden; ++l) {
    generated_layer(task, l, w);
    dense(a.data(), w.data(), rows, h, h, 1.0f / std::sqrt(static_cast<float>(h)), true, b.data());
    std::swap(a, b);
  }
  dense(a.data(), w_out_.data(), rows, h, c.output_dim, 1.0f / std::sqrt(static_cast<float>(h)),
        false, out);
}

void HyperteacherFamily::make_set(const tasks::Task& task, const std::vector<float>& mean,
                                  const std::vector<float>& inv_std, Rng& rng, int rows,
                                  tasks::Dataset& out) const {
  const int d = config_.input_dim, k = config_.output_dim;
  out.rows = rows;
  out.inputs.resize(static_cast<size_t>(rows) * d);
  for (float& x : out.inputs) x = static_cast<float>(rng.uniform(-1.0, 1.0));
  out.targets.resize(static_cast<size_t>(rows) * k);
  teacher_logits(task, out.inputs.data(), rows, out.targets.data());
  out.labels.resize(rows);
  out.mask.assign(rows, 1.0f);
  const float inv_t = static_cast<float>(1.0 / config_.temperature);
  for (int r = 0; r < rows; ++r) {
    float* t = out.targets.data() + static_cast<size_t>(r) * k;
    float top = -INFINITY;
    for (int j = 0; j < k; ++j) {
      t[j] = (t[j] - mean[j]) * inv_std[j] * inv_t;
      top = std::max(top, t[j]);
    }
    double sum = 0.0;
    for (int j = 0; j < k; ++j) sum += t[j] = std::exp(t[j] - top);
    for (int j = 0; j < k; ++j) t[j] = static_cast<float>(t[j] / sum);
    out.labels[r] = static_cast<int32_t>(std::max_element(t, t + k) - t);
  }
}

tasks::TaskData HyperteacherFamily::make_task_data(const tasks::Task& task, uint64_t seed) const {
  tasks::TaskData data;
  data.task = instance(task, seed);
  data.latent = task_space().latent(data.task);
  // Standardise each output unit of this task over the fixed reference inputs.
  const int k = config_.output_dim, n = config_.reference_inputs;
  std::vector<float> ref(static_cast<size_t>(n) * k), mean(k, 0.0f), inv_std(k, 0.0f);
  teacher_logits(data.task, reference_.data(), n, ref.data());
  for (int j = 0; j < k; ++j) {
    double s = 0.0, s2 = 0.0;
    for (int r = 0; r < n; ++r) s += ref[static_cast<size_t>(r) * k + j];
    const double mu = s / n;
    for (int r = 0; r < n; ++r) {
      const double e = ref[static_cast<size_t>(r) * k + j] - mu;
      s2 += e * e;
    }
    mean[j] = static_cast<float>(mu);
    inv_std[j] = static_cast<float>(1.0 / std::max(std::sqrt(s2 / n), 1e-8));
  }
  Rng rng(derive_seed(seed, {0xda7a}));
  make_set(data.task, mean, inv_std, rng, config_.support_shots, data.support);
  make_set(data.task, mean, inv_std, rng, config_.query_shots, data.query);
  return data;
}

std::vector<tasks::Subroutine> HyperteacherFamily::subroutines() const {
  std::vector<tasks::Subroutine> out;
  for (int m = 0; m < config_.num_modules; ++m) {
    tasks::Subroutine s{fmt::format("module_{}", m),
                        fmt::format("the tasks whose every generated layer is module {} alone", m)};
    s.uses_task = [bit = 1 << m](const tasks::Task& t) {
      return std::all_of(t.values.begin(), t.values.end(), [bit](int v) { return v == bit; });
    };
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace hc::teacher
