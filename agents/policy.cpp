#include "agents/policy.h"

#include <optional>

#include "agents/bmm.h"

namespace hc::agents {

torch::Tensor network_forward(const std::vector<Layer>& net, const Inputs& x) {
  torch::Tensor z;
  for (size_t i = 0; i < net.size(); ++i) {
    const Layer& l = net[i];
    const bool shared = l.w.size(0) == 1 && x.tasks != 1;
    if (i == 0) {
      z = shared ? shared_linear(x, l.w[0], l.b[0]) : per_task_linear(per_task_layout(x), l.w, l.b);
    } else {
      const torch::Tensor a = torch::relu(z);
      z = shared ? torch::matmul(a, l.w[0]) + l.b[0] : task_baddbmm(l.b, a, l.w);
    }
  }
  return z;
}

torch::Tensor PolicyImpl::forward(const Fast& fast, const Features& f) {
  torch::Tensor z = first(fast, f);
  for (const Layer& l : layers(fast)) z = task_baddbmm(l.b, torch::relu(z), l.w);
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
      z = task_baddbmm(l.b, acts.back(), l.w);
    }
    loss = task_loss(z, y).detach();
    torch::Tensor g = task_loss_grad(z, y);
    std::vector<torch::Tensor> dw(ls.size()), db(ls.size());
    for (size_t i = ls.size(); i-- > 0;) {
      dw[i] = task_bmm(acts[i], g, /*ta=*/true, /*tb=*/false);
      db[i] = g.sum(1);
      g = task_bmm(g, ls[i].w, /*ta=*/false, /*tb=*/true) * masks[i];
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
