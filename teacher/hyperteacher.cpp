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
}

HyperteacherFamily::HyperteacherFamily(const Config& c)
    : tasks::TaskFamily(kName, make_space(c), c.split.spec(c.num_hot), c.split.seed, c.continuous),
      config_(c) {
  Rng rng(derive_seed(c.split.seed, {0x7eac}));
  const auto normal = [&](std::vector<float>& w, size_t n) {
    w.resize(n);
    for (float& x : w) x = static_cast<float>(rng.truncated_normal());
  };
  const int h = c.hidden_dim, layers = c.num_hidden - 1;
  normal(w_in_, static_cast<size_t>(c.input_dim) * h);
  normal(banks_, static_cast<size_t>(c.num_modules) * h * h);
  normal(w_out_, static_cast<size_t>(h) * c.output_dim);
  reference_.resize(static_cast<size_t>(c.reference_inputs) * c.input_dim);
  for (float& x : reference_) x = static_cast<float>(rng.uniform(-1.0, 1.0));
}

void HyperteacherFamily::teacher_logits(const tasks::Task& task, const float* x, int rows,
                                        float* out) const {
  const Config& c = config_;
  const int h = c.hidden_dim, m = c.num_modules;
  std::vector<float> a(static_cast<size_t>(rows) * h), b(a.size()), w(static_cast<size_t>(h) * h);
  dense(x, w_in_.data(), rows, c.input_dim, h, 1.0f / std::sqrt(static_cast<float>(c.input_dim)),
        true, a.data());
  for (int l = 0; l + 1 < c.num_hidden; ++l) {
    // W_l = sum_m weight[l, m] * module[m]: one bank of modules, a combination per layer
    std::fill(w.begin(), w.end(), 0.0f);
    for (int k = 0; k < m; ++k) {
      const float z = task.weights[static_cast<size_t>(l) * m + k];
      if (z == 0.0f) continue;
      const float* bank = banks_.data() + static_cast<size_t>(k) * h * h;
      for (size_t i = 0; i < w.size(); ++i) w[i] += z * bank[i];
    }
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
