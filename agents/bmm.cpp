#include "agents/bmm.h"

#include <ATen/record_function.h>

#include "agents/precision.h"

extern "C" {
// The system BLAS (the one LibTorch itself calls); Fortran calling convention.
void sgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const float* alpha, const float* a, const int* lda, const float* b, const int* ldb,
            const float* beta, float* c, const int* ldc);
void dgemm_(const char* transa, const char* transb, const int* m, const int* n, const int* k,
            const double* alpha, const double* a, const int* lda, const double* b, const int* ldb,
            const double* beta, double* c, const int* ldc);
}

namespace hc::agents {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// A 3-d operand as BLAS sees it: row-major matrices with a leading dimension, possibly stored
// transposed. `transposed` says whether the stored matrix must be transposed to get op(x).
struct Operand {
  torch::Tensor t;
  bool transposed;
  int64_t ld, batch_stride;
  int64_t rows, cols;  // of the stored matrix
};

Operand operand(const torch::Tensor& x, bool want_transpose) {
  // Row-major storage: unit stride along dim 2; or the transpose's storage: unit stride along 1.
  if (x.stride(2) == 1 && x.stride(1) >= std::max<int64_t>(1, x.size(2)))
    return {x, want_transpose, x.stride(1), x.stride(0), x.size(1), x.size(2)};
  if (x.stride(1) == 1 && x.stride(2) >= std::max<int64_t>(1, x.size(1)))
    return {x, !want_transpose, x.stride(2), x.stride(0), x.size(2), x.size(1)};
  const torch::Tensor c = x.contiguous();
  return {c, want_transpose, std::max<int64_t>(1, c.size(2)), c.stride(0), c.size(1), c.size(2)};
}

template <class S>
void gemm(char ta, char tb, int m, int n, int k, const S* a, int lda, const S* b, int ldb, S beta,
          S* c, int ldc) {
  const S one = 1;
  if constexpr (std::is_same_v<S, float>)
    sgemm_(&ta, &tb, &m, &n, &k, &one, a, &lda, b, &ldb, &beta, c, &ldc);
  else
    dgemm_(&ta, &tb, &m, &n, &k, &one, a, &lda, b, &ldb, &beta, c, &ldc);
}

// Products this small stay float32 in any precision: converting their operands would cost
// about as much as bfloat16 saves (the gridworld's per-task layers are this small).
constexpr int64_t kBf16MinMacs = 64 * 64 * 64;

bool use_bf16(const torch::Tensor& a, int64_t m, int64_t n, int64_t k) {
  return current_precision() == Precision::kBf16 && a.scalar_type() == torch::kFloat32 &&
         m * n * k >= kBf16MinMacs;
}

template <class S>
void multiply(S* x, const S* by, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] *= by[j];
}

bf16::Matrix matrix(const Operand& x) {
  return {x.t.data_ptr<float>(), x.rows, x.cols, x.ld, x.batch_stride, x.transposed};
}

// op(a) op(b), plus bias [T, N] on every row when it is defined, times mask [T, M, N] when that
// is defined (each task's block is multiplied while it is still in cache).
torch::Tensor forward_impl(const torch::Tensor& a, const torch::Tensor& b, bool ta, bool tb,
                           const torch::Tensor& bias, const torch::Tensor& mask = {}) {
  TORCH_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected 3-d tensors, got ", a.sizes(), " and ",
              b.sizes());
  TORCH_CHECK(a.scalar_type() == b.scalar_type() && a.device().is_cpu() && b.device().is_cpu(),
              "bmm: expected CPU tensors of one floating type");
  const int64_t batch = a.size(0);
  const int64_t m = ta ? a.size(2) : a.size(1), k = ta ? a.size(1) : a.size(2);
  const int64_t kb = tb ? b.size(2) : b.size(1), n = tb ? b.size(1) : b.size(2);
  TORCH_CHECK(b.size(0) == batch && kb == k, "bmm: shapes ", a.sizes(), (ta ? "^T" : ""), " and ",
              b.sizes(), (tb ? "^T" : ""), " do not multiply");
  const bool with_bias = bias.defined();
  const torch::Tensor mask_c = mask.defined() ? mask.contiguous() : torch::Tensor();
  TORCH_CHECK(!mask.defined() || (mask.scalar_type() == a.scalar_type() &&
                                  mask.sizes() == torch::IntArrayRef({batch, m, n})),
              "bmm: mask of shape ", mask.sizes(), " for a product of shape [", batch, ", ", m,
              ", ", n, "]");
  if (batch > 0 && use_bf16(a, m, n, k)) {
    const torch::Tensor bias_c = with_bias ? bias.contiguous() : torch::Tensor();
    torch::Tensor out = torch::empty({batch, m, n}, a.options());
    bf16::matmul(batch, matrix(operand(a, ta)), matrix(operand(b, tb)),
                 with_bias ? bias_c.data_ptr<float>() : nullptr,
                 mask.defined() ? mask_c.data_ptr<float>() : nullptr, out.data_ptr<float>());
    return out;
  }
  torch::Tensor out = with_bias ? bias.unsqueeze(1).expand({batch, m, n}).contiguous()
                                : torch::empty({batch, m, n}, a.options());
  if (batch == 0 || m == 0 || n == 0) return out;
  if (k == 0) {
    if (!with_bias) out.zero_();
    return mask.defined() ? out.mul_(mask_c) : out;
  }
  const Operand A = operand(a, ta), B = operand(b, tb);
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap the operands.
  AT_DISPATCH_FLOATING_TYPES(a.scalar_type(), "hc::bmm", [&] {
    const scalar_t* pa = A.t.data_ptr<scalar_t>();
    const scalar_t* pb = B.t.data_ptr<scalar_t>();
    scalar_t* pc = out.data_ptr<scalar_t>();
    const scalar_t* pm = mask.defined() ? mask_c.data_ptr<scalar_t>() : nullptr;
    for (int64_t i = 0; i < batch; ++i) {
      gemm<scalar_t>(B.transposed ? 'T' : 'N', A.transposed ? 'T' : 'N', static_cast<int>(n),
                     static_cast<int>(m), static_cast<int>(k), pb + i * B.batch_stride,
                     static_cast<int>(B.ld), pa + i * A.batch_stride, static_cast<int>(A.ld),
                     with_bias ? scalar_t(1) : scalar_t(0), pc + i * m * n, static_cast<int>(n));
      if (pm) multiply(pc + i * m * n, pm + i * m * n, m * n);
    }
  });
  return out;
}

// Gradients of C = op(A) op(B): dop(A) = G op(B)^T and dop(B) = op(A)^T G, transposed back
// where the operand itself was used transposed.
tensor_list matmul_grads(AutogradContext* ctx, const torch::Tensor& g_out) {
  const auto saved = ctx->get_saved_variables();
  const torch::Tensor &a = saved[0], &b = saved[1];
  const bool ta = ctx->saved_data["ta"].toBool(), tb = ctx->saved_data["tb"].toBool();
  // A masked product's output is mask * C: its gradient reaches C through the mask.
  const torch::Tensor g = saved.size() > 2 ? g_out * saved[2] : g_out;
  torch::Tensor ga, gb;
  if (ctx->needs_input_grad(0)) ga = ta ? task_bmm(b, g, tb, true) : task_bmm(g, b, false, !tb);
  if (ctx->needs_input_grad(1)) gb = tb ? task_bmm(g, a, true, ta) : task_bmm(a, g, !ta, false);
  return {ga, gb};
}

struct BatchedMatmul : torch::autograd::Function<BatchedMatmul> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b,
                               bool ta, bool tb) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["ta"] = ta;
    ctx->saved_data["tb"] = tb;
    return forward_impl(a, b, ta, tb, torch::Tensor());
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    tensor_list g = matmul_grads(ctx, grads[0]);
    return {g[0], g[1], torch::Tensor(), torch::Tensor()};
  }
};

struct BatchedMaskedMatmul : torch::autograd::Function<BatchedMaskedMatmul> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b,
                               bool ta, bool tb, const torch::Tensor& mask) {
    ctx->save_for_backward({a, b, mask});
    ctx->saved_data["ta"] = ta;
    ctx->saved_data["tb"] = tb;
    return forward_impl(a, b, ta, tb, torch::Tensor(), mask);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    tensor_list g = matmul_grads(ctx, grads[0]);
    return {g[0], g[1], torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

struct BatchedAddMatmul : torch::autograd::Function<BatchedAddMatmul> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& bias,
                               const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    ctx->saved_data["ta"] = false;
    ctx->saved_data["tb"] = false;
    return forward_impl(a, b, false, false, bias);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    // Input 0 here is the bias; matmul_grads asks about inputs 0 and 1, so shift by hand.
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &a = saved[0], &b = saved[1], &g = grads[0];
    torch::Tensor gbias, ga, gb;
    if (ctx->needs_input_grad(0)) gbias = g.sum(1);
    if (ctx->needs_input_grad(1)) ga = task_bmm(g, b, false, true);
    if (ctx->needs_input_grad(2)) gb = task_bmm(a, g, true, false);
    return {gbias, ga, gb};
  }
};

bool needs_graph(std::initializer_list<const torch::Tensor*> ts) {
  if (!torch::GradMode::is_enabled()) return false;
  for (const torch::Tensor* t : ts)
    if (t->requires_grad()) return true;
  return false;
}

}  // namespace

const char* task_bmm_name(bool ta, bool tb) {
  static const char* names[] = {"hc::task_bmm_NN",      "hc::task_bmm_NT",
                                "hc::task_bmm_TN",      "hc::task_bmm_TT",
                                "hc::task_bmm_bf16_NN", "hc::task_bmm_bf16_NT",
                                "hc::task_bmm_bf16_TN", "hc::task_bmm_bf16_TT"};
  return names[4 * (current_precision() == Precision::kBf16) + 2 * ta + tb];
}

torch::Tensor task_bmm(const torch::Tensor& a, const torch::Tensor& b, bool ta, bool tb) {
  // Visible to LibTorch's profiler under a name that carries the transposes.
  RECORD_FUNCTION(task_bmm_name(ta, tb), std::vector<c10::IValue>({a, b}));
  static const bool aten = std::getenv("HC_ATEN_BMM") != nullptr;
  if (aten) return torch::bmm(ta ? a.transpose(1, 2) : a, tb ? b.transpose(1, 2) : b);
  if (!needs_graph({&a, &b})) return forward_impl(a, b, ta, tb, torch::Tensor());
  return BatchedMatmul::apply(a, b, ta, tb);
}

torch::Tensor task_bmm_masked(const torch::Tensor& a, const torch::Tensor& b, bool ta, bool tb,
                              const torch::Tensor& mask) {
  RECORD_FUNCTION(task_bmm_name(ta, tb), std::vector<c10::IValue>({a, b}));
  static const bool aten = std::getenv("HC_ATEN_BMM") != nullptr;
  if (aten) return torch::bmm(ta ? a.transpose(1, 2) : a, tb ? b.transpose(1, 2) : b) * mask;
  if (!needs_graph({&a, &b})) return forward_impl(a, b, ta, tb, torch::Tensor(), mask);
  return BatchedMaskedMatmul::apply(a, b, ta, tb, mask);
}

torch::Tensor task_baddbmm(const torch::Tensor& bias, const torch::Tensor& a,
                           const torch::Tensor& b) {
  if (!bias.defined()) return task_bmm(a, b);  // a layer without bias
  RECORD_FUNCTION(task_bmm_name(false, false), std::vector<c10::IValue>({a, b}));
  static const bool aten = std::getenv("HC_ATEN_BMM") != nullptr;
  if (aten) return torch::baddbmm(bias.unsqueeze(1), a, b);
  if (!needs_graph({&bias, &a, &b})) return forward_impl(a, b, false, false, bias);
  return BatchedAddMatmul::apply(bias, a, b);
}

}  // namespace hc::agents
