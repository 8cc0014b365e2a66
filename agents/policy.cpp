#include "agents/policy.h"

#include <optional>

namespace hc::agents {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// c = a^T b per task ([T, N, K], [T, N, J] -> [T, K, J]). Autograd's bmm would hand back the
// gradient of `a` through a transposed view, and accumulating that strided tensor with a's other
// gradients is several times slower than the matrix products; this returns contiguous grads.
struct TransposedLeft : torch::autograd::Function<TransposedLeft> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return torch::bmm(a.transpose(1, 2), b);
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& g = grads[0];
    return {torch::bmm(saved[1], g.transpose(1, 2)), torch::bmm(saved[0], g)};
  }
};

// c = a b^T per task ([T, N, J], [T, K, J] -> [T, N, K]), with contiguous gradients.
struct TransposedRight : torch::autograd::Function<TransposedRight> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return torch::bmm(a, b.transpose(1, 2));
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& g = grads[0];
    return {torch::bmm(g, saved[1]), torch::bmm(g.transpose(1, 2), saved[0])};
  }
};

}  // namespace

torch::Tensor PolicyImpl::forward(const Fast& fast, const Features& f) {
  torch::Tensor z = first(fast, f);
  for (const Layer& l : layers(fast)) z = torch::baddbmm(l.b.unsqueeze(1), torch::relu(z), l.w);
  return z;
}

std::pair<torch::Tensor, Fast> PolicyImpl::loss_and_grad(const Fast& fast, const Features& f,
                                                         const Targets& y, bool create_graph) {
  const torch::Tensor z0 = first(fast, f);
  const std::vector<Layer> ls = layers(fast);
  std::vector<torch::Tensor> outputs{z0}, grads;
  torch::Tensor loss;
  {
    // First order needs no graph of the dense part: only its values.
    std::optional<torch::NoGradGuard> no_grad;
    if (!create_graph) no_grad.emplace();
    std::vector<torch::Tensor> acts, masks;
    torch::Tensor z = z0;
    for (const Layer& l : ls) {
      // ReLU as a product with a constant mask: its derivative is the same mask, and no
      // autograd node materialises zeros for the mask's own gradient.
      torch::Tensor mask;
      {
        torch::NoGradGuard constant;
        mask = z.gt(0).to(z.scalar_type());
      }
      acts.push_back(z * mask);
      masks.push_back(mask);
      z = torch::baddbmm(l.b.unsqueeze(1), acts.back(), l.w);
    }
    loss = task_loss(z, y).detach();
    torch::Tensor g = task_loss_grad(z, y);
    std::vector<torch::Tensor> dw(ls.size()), db(ls.size());
    for (size_t i = ls.size(); i-- > 0;) {
      dw[i] = TransposedLeft::apply(acts[i], g);
      db[i] = g.sum(1);
      g = TransposedRight::apply(g, ls[i].w) * masks[i];
    }
    grads.push_back(g);
    for (size_t i = 0; i < ls.size(); ++i) {
      outputs.push_back(ls[i].w);
      outputs.push_back(ls[i].b);
      grads.push_back(dw[i]);
      grads.push_back(db[i]);
    }
  }
  // Map the gradient back through the weight generators (small) to the fast parameters.
  Fast g = torch::autograd::grad(outputs, fast, grads, /*retain_graph=*/create_graph,
                                 /*create_graph=*/create_graph, /*allow_unused=*/true);
  for (size_t i = 0; i < g.size(); ++i)
    if (!g[i].defined()) g[i] = torch::zeros_like(fast[i]);
  return {loss, g};
}

}  // namespace hc::agents
