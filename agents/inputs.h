// Inputs of a batch of tasks, and the two ways a first layer consumes them.
//
// Observations of the gridworlds are one-hot: about 50 of the 847 inputs of a row are 1. Such
// inputs are kept as the list of active features of each row, and first layers gather weight
// rows instead of multiplying by mostly zeros.
#pragma once

#include <torch/torch.h>

namespace hc::agents {

struct Inputs {
  int64_t tasks = 0;  // T
  int64_t rows = 0;   // N rows per task (padded to the longest set of the batch)
  int64_t dim = 0;    // D features per row

  torch::Tensor dense;  // [T, N, D] float32, for dense inputs

  // Sparse binary inputs: row r (of T * N, task-major) has the active features
  // index[offsets[r] .. offsets[r + 1]); padded rows have none.
  torch::Tensor index;       // [nnz] int64 feature index
  torch::Tensor offsets;     // [T * N] int64
  torch::Tensor row;         // [nnz] int64 row of each active feature
  torch::Tensor task_index;  // [nnz] int64 task * D + index: row of a [T * D, out] weight

  bool sparse() const { return index.defined(); }
  // Builds sparse inputs from a dense [T, N, D] tensor of zeros and ones.
  static Inputs from_dense_binary(const torch::Tensor& x);
  torch::Tensor to_dense() const;
};

// x @ w + b with one weight shared by all tasks: w [D, F], b [F] (or undefined) -> [T, N, F].
// The sparse path (embedding_bag) is differentiable once, which suffices for weights that the
// inner loop never adapts.
torch::Tensor shared_linear(const Inputs& x, const torch::Tensor& w, const torch::Tensor& b);

// The layout per_task_linear is fastest on: the sparse path reads one weight row per active
// input, the dense one streams all weights through BLAS; above a few percent of active inputs
// (the 7x7 preference grid has 10%) the dense product wins. Sparse inputs that dense are
// converted; others are returned as they are.
Inputs per_task_layout(const Inputs& x);

// x_t @ w_t + b_t with per-task weights: w [T, D, F], b [T, F] (or undefined) -> [T, N, F].
// Differentiable to any order (the inner loop differentiates through it).
torch::Tensor per_task_linear(const Inputs& x, const torch::Tensor& w, const torch::Tensor& b);

}  // namespace hc::agents
