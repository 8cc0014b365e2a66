#include "trainer/inner_fused.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

namespace hc::trainer {
namespace {

using tasks::TargetKind;

// One task's network and data, float32, contiguous.
struct TaskView {
  int m, in, hid, out, rows;
  const float* bank;    // m x in x hid: the input layer's templates, scaled by 1 / sqrt(in)
  const float* head_t;  // out x hid: the shared output layer, transposed
  const float* head_b;  // out, or nullptr
  const float* x;       // rows x in
  const float* y;       // rows x out
  const float* weight;  // rows: the row's weight in the task's mean (0 on padding)
  float loss_scale;     // loss = loss_scale * sum_rows weight * |r|^2
  float grad_scale;     // d loss / d out = grad_scale * weight * r
};

struct Optimiser {
  InnerKind kind;
  double lr, b1, b2, eps, eps_root, wd, clip;
};

// The widest hidden layer and output the fused kernel handles (stack buffers per row).
constexpr int kMaxHidden = 1024, kMaxOut = 64;

// The loss of a task at embedding e and its gradient with respect to e (de, m entries);
// `w` and `dw` hold in * hid entries. Any hidden width up to kMaxHidden (step_vec below is the
// same for multiples of 16, faster).
//
// Per support row n: u = x_n W, out = b + ReLU(u) A, r = out - y_n, gh = [u > 0] (g A^T),
// dW += x_n^T gh; then de_k = <dW, B_k>. The sums that reduce a vector to a number are
// `omp simd` reductions (reassociated across vector lanes), the rest is elementwise.
[[gnu::always_inline]] inline double step_kernel(const TaskView& t, const float* __restrict e,
                                                 float* __restrict de, float* __restrict w,
                                                 float* __restrict dw) {
  const int hid = t.hid, in = t.in, out = t.out, ih = in * hid;
  const float* __restrict bank = t.bank;
  const float* __restrict head_t = t.head_t;
  for (int j = 0; j < ih; ++j) w[j] = 0.0f, dw[j] = 0.0f;
  for (int k = 0; k < t.m; ++k) {
    const float ek = e[k];
    const float* __restrict bk = bank + static_cast<size_t>(k) * ih;
    for (int j = 0; j < ih; ++j) w[j] += ek * bk[j];
  }
  double loss = 0.0;
  for (int n = 0; n < t.rows; ++n) {
    const float wn = t.weight[n];
    if (wn == 0.0f) continue;  // padding
    const float* __restrict xn = t.x + static_cast<size_t>(n) * in;
    alignas(64) float u[kMaxHidden], a[kMaxHidden], gh[kMaxHidden];
    for (int o = 0; o < hid; ++o) u[o] = 0.0f;
    for (int i = 0; i < in; ++i) {
      const float xi = xn[i];
      const float* __restrict wi = w + static_cast<size_t>(i) * hid;
      for (int o = 0; o < hid; ++o) u[o] += xi * wi[o];
    }
    for (int o = 0; o < hid; ++o) a[o] = u[o] > 0.0f ? u[o] : 0.0f;
    const float* __restrict yn = t.y + static_cast<size_t>(n) * out;
    float g[kMaxOut], se = 0.0f;
    for (int c = 0; c < out; ++c) {
      const float* __restrict ac = head_t + static_cast<size_t>(c) * hid;
      float s = 0.0f;
#pragma omp simd reduction(+ : s)
      for (int o = 0; o < hid; ++o) s += a[o] * ac[o];
      const float r = (t.head_b ? t.head_b[c] : 0.0f) + s - yn[c];
      se += r * r;
      g[c] = t.grad_scale * wn * r;
    }
    loss += static_cast<double>(t.loss_scale * wn * se);
    for (int o = 0; o < hid; ++o) gh[o] = 0.0f;
    for (int c = 0; c < out; ++c) {
      const float gc = g[c];
      const float* __restrict ac = head_t + static_cast<size_t>(c) * hid;
      for (int o = 0; o < hid; ++o) gh[o] += gc * ac[o];
    }
    for (int o = 0; o < hid; ++o) gh[o] = u[o] > 0.0f ? gh[o] : 0.0f;
    // Consecutive updates of one row of dW are `in` rows apart: no chain of dependent stores.
    for (int i = 0; i < in; ++i) {
      const float xi = xn[i];
      float* __restrict dwi = dw + static_cast<size_t>(i) * hid;
      for (int o = 0; o < hid; ++o) dwi[o] += xi * gh[o];
    }
  }
  for (int k = 0; k < t.m; ++k) {
    const float* __restrict bk = bank + static_cast<size_t>(k) * ih;
    float s = 0.0f;
#pragma omp simd reduction(+ : s)
    for (int j = 0; j < ih; ++j) s += dw[j] * bk[j];
    de[k] = s;
  }
  return loss;
}

// Sixteen floats, kept in registers, not in a stack array the compiler stores and reloads on every
// update: one AVX-512 register (Vec16, GCC's vector extensions), or two AVX2 registers (Pair8).
// Both have the same lanes in the same order, so the same arithmetic. A 64-byte vector where the
// widest register is 256 bits is not an option: GCC builds its scalar broadcasts element by
// element through the stack, and the wide reload of those small stores stalls (the reference's
// theory meta-step on an AVX2-only EPYC: 8.7 s with Vec16, 0.42 s with Pair8). The baseline
// (SSE) kernel keeps Vec16: no machine at hand measures it.
typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec8 __attribute__((vector_size(32)));
struct Pair8 {
  Vec8 lo, hi;
};

template <class W>
inline W load16(const float* p) {
  W v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <class W>
inline void store16(float* p, const W& v) {
  std::memcpy(p, &v, sizeof v);
}
// A pair's halves are loaded and stored as whole 8-float vectors: a memcpy of the 64-byte pair
// is done in 16-byte pieces through the stack, with the same stalls as above. The type may alias
// the floats it is read from, as GCC's own unaligned intrinsic types do.
typedef float Vec8Unaligned __attribute__((vector_size(32), aligned(4), may_alias));
template <>
inline Pair8 load16<Pair8>(const float* p) {
  return {*reinterpret_cast<const Vec8Unaligned*>(p),
          *reinterpret_cast<const Vec8Unaligned*>(p + 8)};
}
template <>
inline void store16<Pair8>(float* p, const Pair8& v) {
  *reinterpret_cast<Vec8Unaligned*>(p) = v.lo;
  *reinterpret_cast<Vec8Unaligned*>(p + 8) = v.hi;
}
inline float sum16(const Vec16& v) {  // in lane order: the same on every instruction set
  float s = 0.0f;
  for (int l = 0; l < 16; ++l) s += v[l];
  return s;
}
inline float sum16(const Pair8& v) {
  float s = 0.0f;
  for (int l = 0; l < 8; ++l) s += v.lo[l];
  for (int l = 0; l < 8; ++l) s += v.hi[l];
  return s;
}
// x where u > 0, else 0 (the ReLU and its derivative's mask).
inline Vec16 where_positive(const Vec16& u, const Vec16& x) { return u > 0.0f ? x : Vec16{}; }
inline Pair8 where_positive(const Pair8& u, const Pair8& x) {
  return {u.lo > 0.0f ? x.lo : Vec8{}, u.hi > 0.0f ? x.hi : Vec8{}};
}
inline Pair8 operator+(const Pair8& a, const Pair8& b) { return {a.lo + b.lo, a.hi + b.hi}; }
inline Pair8 operator*(const Pair8& a, const Pair8& b) { return {a.lo * b.lo, a.hi * b.hi}; }
inline Pair8 operator*(float a, const Pair8& b) { return {a * b.lo, a * b.hi}; }
inline Pair8& operator+=(Pair8& a, const Pair8& b) { return a = a + b; }

// step_kernel for a hidden width of 16 V, the same arithmetic with a row's activations in
// vector registers (W: Vec16 or Pair8).
template <int V, class W>
[[gnu::always_inline]] inline double step_vec(const TaskView& t, const float* __restrict e,
                                              float* __restrict de, float* __restrict w,
                                              float* __restrict dw) {
  constexpr int hid = 16 * V;
  const int in = t.in, out = t.out, ih = in * hid;
  const float* __restrict bank = t.bank;
  const float* __restrict head_t = t.head_t;
  for (int j = 0; j < ih; ++j) w[j] = 0.0f, dw[j] = 0.0f;
  for (int k = 0; k < t.m; ++k) {
    const float ek = e[k];
    const float* __restrict bk = bank + static_cast<size_t>(k) * ih;
    for (int j = 0; j < ih; ++j) w[j] += ek * bk[j];
  }
  const W zero = {};
  double loss = 0.0;
  for (int n = 0; n < t.rows; ++n) {
    const float wn = t.weight[n];
    if (wn == 0.0f) continue;  // padding
    const float* __restrict xn = t.x + static_cast<size_t>(n) * in;
    W u[V], a[V], gh[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) u[v] = zero;
    for (int i = 0; i < in; ++i) {
      const float xi = xn[i];
      const float* __restrict wi = w + static_cast<size_t>(i) * hid;
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) u[v] += xi * load16<W>(wi + 16 * v);
    }
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) a[v] = where_positive(u[v], u[v]);
    const float* __restrict yn = t.y + static_cast<size_t>(n) * out;
    float g[kMaxOut], se = 0.0f;
    for (int c = 0; c < out; ++c) {
      const float* __restrict ac = head_t + static_cast<size_t>(c) * hid;
      W s = zero;
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) s += a[v] * load16<W>(ac + 16 * v);
      const float r = (t.head_b ? t.head_b[c] : 0.0f) + sum16(s) - yn[c];
      se += r * r;
      g[c] = t.grad_scale * wn * r;
    }
    loss += static_cast<double>(t.loss_scale * wn * se);
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) gh[v] = zero;
    for (int c = 0; c < out; ++c) {
      const float gc = g[c];
      const float* __restrict ac = head_t + static_cast<size_t>(c) * hid;
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) gh[v] += gc * load16<W>(ac + 16 * v);
    }
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) gh[v] = where_positive(u[v], gh[v]);
    for (int i = 0; i < in; ++i) {
      const float xi = xn[i];
      float* __restrict dwi = dw + static_cast<size_t>(i) * hid;
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) store16(dwi + 16 * v, load16<W>(dwi + 16 * v) + xi * gh[v]);
    }
  }
  for (int k = 0; k < t.m; ++k) {
    const float* __restrict bk = bank + static_cast<size_t>(k) * ih;
    W s = zero;
    for (int j = 0; j < ih; j += 16) s += load16<W>(dw + j) * load16<W>(bk + j);
    de[k] = sum16(s);
  }
  return loss;
}

using StepFn = double (*)(const TaskView&, const float*, float*, float*, float*);

// The kernel for the task's hidden width, compiled for one instruction set.
#define HC_FUSED_DISPATCH(NAME, W, ATTRIBUTES)                                                \
  ATTRIBUTES double NAME(const TaskView& t, const float* e, float* de, float* w, float* dw) { \
    switch (t.hid) {                                                                          \
      case 16:                                                                                \
        return step_vec<1, W>(t, e, de, w, dw);                                               \
      case 32:                                                                                \
        return step_vec<2, W>(t, e, de, w, dw);                                               \
      case 48:                                                                                \
        return step_vec<3, W>(t, e, de, w, dw);                                               \
      case 64:                                                                                \
        return step_vec<4, W>(t, e, de, w, dw);                                               \
      default:                                                                                \
        return step_kernel(t, e, de, w, dw);                                                  \
    }                                                                                         \
  }
HC_FUSED_DISPATCH(step_avx512, Vec16,
                  [[gnu::target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma")]])
HC_FUSED_DISPATCH(step_avx2, Pair8, [[gnu::target("avx2,fma")]])
HC_FUSED_DISPATCH(step_baseline, Vec16, )
#undef HC_FUSED_DISPATCH

// Chosen once from the CPU this runs on. Results are deterministic on one machine; another
// instruction set sums in another order (as BLAS kernels do), so they may differ in the last bits.
StepFn step_for_this_cpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("fma"))
    return step_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return step_avx2;
  return step_baseline;
}

double loss_and_grad(const TaskView& t, const float* e, float* de, float* w, float* dw) {
  static const StepFn step = step_for_this_cpu();
  return step(t, e, de, w, dw);
}

// `steps` inner steps of one task from e (updated in place); the loss before the first and
// before the last step.
std::pair<double, double> adapt_task(const TaskView& t, const Optimiser& opt, int steps, float* e) {
  std::vector<float> w(static_cast<size_t>(t.in) * t.hid), dw(w.size());
  std::vector<float> de(t.m), mom(t.m, 0.0f), vel(t.m, 0.0f);
  double first = 0.0, last = 0.0;
  for (int k = 0; k < steps; ++k) {
    last = loss_and_grad(t, e, de.data(), w.data(), dw.data());
    if (k == 0) first = last;
    if (opt.clip > 0.0) {  // as InnerOptimizer::clip: the task's gradient to norm <= clip
      float sq = 0.0f;
      for (float d : de) sq += d * d;
      const float scale =
          std::min(static_cast<float>(opt.clip / std::sqrt(static_cast<double>(sq) + 1e-12)), 1.0f);
      for (float& d : de) d *= scale;
    }
    if (opt.kind == InnerKind::kSgd) {
      for (int j = 0; j < t.m; ++j) e[j] -= static_cast<float>(opt.lr) * de[j];
      continue;
    }
    // The arithmetic of InnerOptimizer's Adam/AdamW step (trainer/inner.cpp), in float32.
    const int step = k + 1;
    const float b1 = static_cast<float>(opt.b1), one_b1 = static_cast<float>(1.0 - opt.b1);
    const float b2 = static_cast<float>(opt.b2), one_b2 = static_cast<float>(1.0 - opt.b2);
    const float c1 = static_cast<float>(1.0 - std::pow(opt.b1, step));
    const float c2 = static_cast<float>(1.0 - std::pow(opt.b2, step));
    const float eps_root = static_cast<float>(opt.eps_root), eps = static_cast<float>(opt.eps);
    const float lr = static_cast<float>(opt.lr), wd = static_cast<float>(opt.wd);
    for (int j = 0; j < t.m; ++j) {
      mom[j] = mom[j] * b1 + de[j] * one_b1;
      vel[j] = vel[j] * b2 + (de[j] * one_b2) * de[j];
      float upd = (mom[j] / c1) / (std::sqrt(vel[j] / c2 + eps_root) + eps);
      if (opt.wd > 0.0) upd = upd + e[j] * wd;
      e[j] = e[j] - upd * lr;
    }
  }
  if (steps == 0) {
    std::vector<float> scratch_de(t.m);
    first = last = loss_and_grad(t, e, scratch_de.data(), w.data(), dw.data());
  }
  return {first, last};
}

bool squared_error(TargetKind k) {
  return k == TargetKind::kRegression || k == TargetKind::kValues || k == TargetKind::kActions;
}

}  // namespace

bool fused_inner_applies(agents::PolicyImpl& policy, const Batch& b) {
  const torch::Tensor bank = policy.input_bank();
  if (!bank.defined() || b.support.x.sparse() || !squared_error(b.support.y.kind)) return false;
  if (bank.size(1) != b.support.x.dim || bank.size(2) > kMaxHidden ||
      b.support.y.values.size(2) > kMaxOut)
    return false;
  torch::NoGradGuard no_grad;
  const agents::Fast fast = policy.init_fast(1);
  return fast.size() == 1 && policy.layers(fast).size() == 1;
}

std::optional<Adapted> adapt_fused(agents::PolicyImpl& policy, const Batch& b,
                                   const InnerOptimizer& opt, int steps) {
  if (!fused_inner_applies(policy, b)) return std::nullopt;
  const int64_t tasks = b.tasks;
  // The starting embedding keeps its graph (a meta-learned start gets the first-order gradient).
  const agents::Fast start = policy.init_fast(tasks);
  torch::Tensor bank, head_t, head_b;
  {
    torch::NoGradGuard no_grad;
    const torch::Tensor raw = policy.input_bank();
    bank = (raw / std::sqrt(static_cast<double>(raw.size(1)))).contiguous();
    const agents::Layer head = policy.layers(policy.init_fast(1))[0];
    head_t = head.w[0].t().contiguous();  // [out, hid]
    if (head.b.defined()) head_b = head.b[0].contiguous();
  }
  const torch::Tensor x = b.support.x.dense.contiguous();
  const torch::Tensor y = b.support.y.values.contiguous();
  const torch::Tensor weight = b.support.y.weight.contiguous();
  torch::Tensor e = start[0].detach().reshape({tasks, -1}).contiguous().clone();
  const int m = static_cast<int>(bank.size(0)), in = static_cast<int>(bank.size(1));
  const int hid = static_cast<int>(bank.size(2)), out = static_cast<int>(y.size(2));
  const int rows = static_cast<int>(x.size(1));
  const bool mean_over_outputs = b.support.y.kind == TargetKind::kRegression;
  const Optimiser o{opt.kind,
                    opt.lr,
                    opt.b1,
                    opt.b2,
                    opt.eps,
                    opt.eps_root,
                    opt.kind == InnerKind::kAdamw ? opt.weight_decay : 0.0,
                    opt.grad_clip};
  std::vector<float> before(tasks), after(tasks);
  for (int64_t t = 0; t < tasks; ++t) {
    const TaskView view{m,
                        in,
                        hid,
                        out,
                        rows,
                        bank.data_ptr<float>(),
                        head_t.data_ptr<float>(),
                        head_b.defined() ? head_b.data_ptr<float>() : nullptr,
                        x.data_ptr<float>() + t * rows * in,
                        y.data_ptr<float>() + t * rows * out,
                        weight.data_ptr<float>() + t * rows,
                        static_cast<float>(mean_over_outputs ? 0.5 / out : 0.5),
                        static_cast<float>(mean_over_outputs ? 1.0 / out : 1.0)};
    const auto [first, last] = adapt_task(view, o, steps, e.data_ptr<float>() + t * m);
    before[t] = static_cast<float>(first);
    after[t] = static_cast<float>(last);
  }
  // The adapted values, with the first-order path to the start the generic loop has: each
  // Adam/SGD step passes the gradient of p' to p unchanged, an AdamW step scales it by
  // (1 - lr wd).
  const double decay = o.wd > 0.0 ? std::pow(1.0 - opt.lr * o.wd, static_cast<double>(steps)) : 1.0;
  const torch::Tensor s = start[0];
  const torch::Tensor end = e.view(s.sizes());
  Adapted a;
  a.fast = {s.grad_fn() ? s * decay + (end - s.detach() * decay) : end};
  a.support_before = torch::tensor(before);
  a.support_after = torch::tensor(after);
  return a;
}

}  // namespace hc::trainer
