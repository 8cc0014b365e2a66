// Batched matrix products for the per-task layers: out[t] = op(a[t]) op(b[t]), op = optional
// transpose, differentiable to any order.
//
// LibTorch 1.13's CPU bmm multiplies small matrices one batch entry at a time through several
// tensor-level calls (select, conj checks, addmm) per entry. With a few dozen rows and columns
// per task, that bookkeeping costs more than the arithmetic: the gridworld meta-step spent
// two thirds of its time in it. Here each entry is one BLAS call on raw pointers, and the
// backward pass is written with the same function, so second-order gradients use it too.
// Setting HC_ATEN_BMM in the environment routes both functions to LibTorch's bmm/baddbmm
// instead, to compare the two (bench/meta_step_bench).
#pragma once

#include <torch/torch.h>

namespace hc::agents {

// [T, M, K] x [T, K, N] -> [T, M, N], with op(a) = a^T when ta (a is then [T, K, M]), likewise b.
// float32 or float64 CPU tensors; any strides (non-unit inner strides are copied once).
torch::Tensor task_bmm(const torch::Tensor& a, const torch::Tensor& b, bool ta = false,
                       bool tb = false);

// The profiler's name of a task_bmm call: hc::task_bmm_NN, _NT, _TN or _TT (ta, tb), with
// bf16_ before the letters inside a bfloat16 PrecisionScope (precision.h).
const char* task_bmm_name(bool ta, bool tb);

// mask[t] * (op(a[t]) op(b[t])) elementwise, mask [T, M, N] a constant (in the closed-form
// backward pass, a ReLU's derivative): each task's block is masked while still in cache.
torch::Tensor task_bmm_masked(const torch::Tensor& a, const torch::Tensor& b, bool ta, bool tb,
                              const torch::Tensor& mask);

// bias[t] + a[t] b[t] with bias [T, N] added to every row (fused into the product); a[t] b[t]
// when bias is undefined.
torch::Tensor task_baddbmm(const torch::Tensor& bias, const torch::Tensor& a,
                           const torch::Tensor& b);

}  // namespace hc::agents
