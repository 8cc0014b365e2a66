#include "agents/inputs.h"

#include <cstdlib>

#include "agents/bmm.h"

namespace hc::agents {

Inputs Inputs::from_dense_binary(const torch::Tensor& x) {
  Inputs in;
  in.tasks = x.size(0);
  in.rows = x.size(1);
  in.dim = x.size(2);
  const torch::Tensor flat = x.reshape({in.tasks * in.rows, in.dim});
  const torch::Tensor nz = flat.nonzero();  // [nnz, 2] (row, feature), row-major order
  in.row = nz.select(1, 0).contiguous();
  in.index = nz.select(1, 1).contiguous();
  const torch::Tensor counts = torch::bincount(in.row, {}, in.tasks * in.rows);
  in.offsets = (counts.cumsum(0) - counts).to(torch::kInt64);
  in.task_index = in.row.div(in.rows, "floor") * in.dim + in.index;
  return in;
}

torch::Tensor Inputs::to_dense() const {
  if (!sparse()) return dense;
  torch::Tensor out = torch::zeros({tasks * rows, dim});
  out.index_put_({row, index}, torch::ones({index.size(0)}));
  return out.view({tasks, rows, dim});
}

torch::Tensor shared_linear(const Inputs& x, const torch::Tensor& w, const torch::Tensor& b) {
  torch::Tensor out;
  if (x.sparse()) {
    out = std::get<0>(torch::embedding_bag(w, x.index, x.offsets, /*scale_grad_by_freq=*/false,
                                           /*mode=sum*/ 0))
              .view({x.tasks, x.rows, w.size(1)});
  } else {
    out = torch::matmul(x.dense, w);
  }
  return b.defined() ? out + b : out;
}

Inputs per_task_layout(const Inputs& x) {
  if (!x.sparse() || x.tasks * x.rows * x.dim == 0) return x;
  static const double threshold = [] {
    const char* e = std::getenv("HC_DENSE_ABOVE");
    return e ? std::atof(e) : 0.03;
  }();
  const double density =
      static_cast<double>(x.index.numel()) / static_cast<double>(x.tasks * x.rows * x.dim);
  if (density < threshold) return x;
  Inputs d;
  d.tasks = x.tasks;
  d.rows = x.rows;
  d.dim = x.dim;
  d.dense = x.to_dense();
  return d;
}

torch::Tensor per_task_linear(const Inputs& x, const torch::Tensor& w, const torch::Tensor& b) {
  if (!x.sparse()) {
    const torch::Tensor xd =
        x.dense.scalar_type() == w.scalar_type() ? x.dense : x.dense.to(w.scalar_type());
    return b.defined() ? task_baddbmm(b, xd, w) : task_bmm(xd, w);
  }
  // gather/scatter_add rather than index_select/index_add: LibTorch's CPU index_add on 2-D
  // tensors loops over slices one by one (and is index_select's backward), while gather and
  // scatter_add are each other's backward and run as single kernels, to any order.
  const int64_t f = w.size(2), nnz = x.row.size(0);
  const torch::Tensor gathered =
      w.reshape({x.tasks * x.dim, f}).gather(0, x.task_index.unsqueeze(1).expand({nnz, f}));
  torch::Tensor out = torch::zeros({x.tasks * x.rows, f}, w.options())
                          .scatter_add(0, x.row.unsqueeze(1).expand({nnz, f}), gathered)
                          .view({x.tasks, x.rows, f});
  return b.defined() ? out + b.unsqueeze(1) : out;
}

}  // namespace hc::agents
